// Calls itself without end: must stop at the stack limit.
local loop(n) = loop(n + 1);
loop(0)
