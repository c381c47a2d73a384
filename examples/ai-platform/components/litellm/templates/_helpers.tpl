{{/* Object names: the release name, which the Application sets to "litellm". */}}
{{- define "litellm.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "litellm.selectorLabels" -}}
app.kubernetes.io/name: litellm
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "litellm.labels" -}}
{{ include "litellm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/component: llm-proxy
app.kubernetes.io/part-of: ai-platform
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret the master key is read from: the pre-created one when given. */}}
{{- define "litellm.masterKeySecret" -}}
{{- if .Values.masterKey.existingSecret -}}
{{- .Values.masterKey.existingSecret -}}
{{- else -}}
{{- printf "%s-generated-master-key" (include "litellm.fullname" .) -}}
{{- end -}}
{{- end -}}
