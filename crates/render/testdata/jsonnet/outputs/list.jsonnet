local cm(name) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name } };
{ apiVersion: 'v1', kind: 'List', items: [cm('list-a'), cm('list-b')] }
