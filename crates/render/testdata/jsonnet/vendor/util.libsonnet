{
  dns(name):: std.asciiLower(std.strReplace(name, '_', '-')),
}
