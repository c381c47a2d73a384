(import 'k.libsonnet').configMap('never', {})
