'lib-a'
