// Each field needs the next one: an endless chain of lazy fields.
local o = { a: self.b, b: self.a };
o.a
