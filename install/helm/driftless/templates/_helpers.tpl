{{/* The name of every namespaced object of the release. */}}
{{- define "driftless.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped objects carry the release namespace, so installs in two namespaces do not clash. */}}
{{- define "driftless.clusterName" -}}
{{- printf "%s-%s" .Release.Name .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "driftless.appNamespace" -}}
{{- .Values.appNamespace | default .Release.Namespace -}}
{{- end -}}

{{- define "driftless.namespaced" -}}
{{- if .Values.namespaced.namespaces }}true{{ end -}}
{{- end -}}

{{- define "driftless.selectorLabels" -}}
app.kubernetes.io/name: driftless
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "driftless.labels" -}}
{{ include "driftless.selectorLabels" . }}
app.kubernetes.io/part-of: driftless
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Verbs on what apps deploy: reads always, writes unless the syncs impersonate. */}}
{{- define "driftless.deployVerbs" -}}
{{- if .Values.impersonation.enabled -}}
[get, list, watch]
{{- else -}}
[get, list, watch, create, update, patch, delete]
{{- end -}}
{{- end -}}

{{- define "driftless.subject" -}}
- kind: ServiceAccount
  name: {{ include "driftless.fullname" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}
