// A top-level function: Argo CD passes `directory.jsonnet.tlas` as its arguments.
function(
  name='jsonnet-guestbook-ui',
  image='gcr.io/heptio-images/ks-guestbook-demo:0.2',
  replicas=1,
  containerPort=80,
  servicePort=80,
  type='LoadBalancer',
)
  local labels = { app: name };
  [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: name },
      spec: {
        type: type,
        selector: labels,
        ports: [{ port: servicePort, targetPort: containerPort }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: name },
      spec: {
        replicas: replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: labels },
          spec: { containers: [{ name: name, image: image, ports: [{ containerPort: containerPort }] }] },
        },
      },
    },
  ]
