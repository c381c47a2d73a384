local lib = import 'broken.libsonnet';
lib.object
