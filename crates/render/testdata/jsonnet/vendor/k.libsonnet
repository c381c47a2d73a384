// A tiny library on the `libs` search path; its own imports start next to it.
local util = import 'util.libsonnet';
{
  configMap(name, data):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: util.dns(name) },
    data: data,
  },
}
