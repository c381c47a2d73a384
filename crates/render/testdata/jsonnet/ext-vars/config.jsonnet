// `env` is a string variable; `replicas` and `labels` are code (`code: true`).
{
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api-' + std.extVar('env'),
    labels: std.extVar('labels'),
  },
  spec: {
    replicas: std.extVar('replicas'),
    selector: { matchLabels: { app: 'api' } },
    template: {
      metadata: { labels: { app: 'api' } },
      spec: { containers: [{ name: 'api', image: 'api:' + std.extVar('env') }] },
    },
  },
}
