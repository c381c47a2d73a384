{{/* The namespace name; rendering fails without it. */}}
{{- define "ns.name" -}}
{{- required "name is required (one file of namespaces/)" .Values.name -}}
{{- end -}}

{{/* Labels shared by every object of this chart. */}}
{{- define "ns.labels" -}}
app.kubernetes.io/managed-by: driftless
app.kubernetes.io/part-of: ai-platform
ai-platform.example.internal/namespace: {{ include "ns.name" . }}
{{- end -}}
