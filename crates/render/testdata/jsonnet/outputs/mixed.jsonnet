// Nulls are skipped, a List item is flattened, hidden fields are not output.
local cm(name) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name } };
[
  cm('mixed-a') + { data: { ratio: '0.5' }, helper:: 'hidden' },
  null,
  { apiVersion: 'v1', kind: 'ConfigMapList', items: [cm('mixed-b')] },
  {
    apiVersion: 'example.com/v1',
    kind: 'Setting',
    metadata: { name: 'numbers' },
    spec: { tenth: 0.1, third: 1 / 3, big: 1e20, negative: -3, whole: 1.5 * 2, text: std.toString(2.5) },
  },
]
