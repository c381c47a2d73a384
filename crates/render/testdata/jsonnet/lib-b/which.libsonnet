'lib-b'
