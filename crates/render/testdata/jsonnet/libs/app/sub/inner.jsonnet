// Below the app path: `near.libsonnet` is not beside it, but the app path is searched.
(import 'k.libsonnet').configMap('inner', { near: import 'near.libsonnet' })
