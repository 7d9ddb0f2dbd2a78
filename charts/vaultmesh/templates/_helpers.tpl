{{/*
Object names are fixed (not prefixed with the release name): the webhook server, the RBAC
resourceNames and config/default refer to them, and the CRDs and webhook configurations are
cluster-wide, so one release per cluster (ADR 0062).
*/}}

{{/* Labels Helm and the chart add to every object. */}}
{{- define "vaultmesh.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of a component: (dict "component" "operator"). Immutable once installed. */}}
{{- define "vaultmesh.selectorLabels" -}}
app.kubernetes.io/name: vaultmesh
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every label of an object: (dict "ctx" $ "component" "operator"). */}}
{{- define "vaultmesh.labels" -}}
{{ include "vaultmesh.selectorLabels" . }}
app.kubernetes.io/part-of: vaultmesh
{{ include "vaultmesh.chartLabels" .ctx }}
{{- end -}}

{{/* Labels of an object that belongs to no component (the namespace, CRDs). */}}
{{- define "vaultmesh.commonLabels" -}}
app.kubernetes.io/name: vaultmesh
app.kubernetes.io/part-of: vaultmesh
{{ include "vaultmesh.chartLabels" . }}
{{- end -}}

{{/* The Argo CD sync wave annotation: (include "vaultmesh.wave" "-1"). */}}
{{- define "vaultmesh.wave" -}}
argocd.argoproj.io/sync-wave: {{ . | quote }}
{{- end -}}

{{/* The image reference: repository@digest, or repository:tag (tag defaults to appVersion). */}}
{{- define "vaultmesh.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount user name of the operator (the webhooks trust it). */}}
{{- define "vaultmesh.operatorUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:vaultmesh-operator
{{- end -}}

{{/* The dev TSA's URL when it runs, else tsa.url. */}}
{{- define "vaultmesh.tsaUrl" -}}
{{- if .Values.tsa.url -}}
{{ .Values.tsa.url }}
{{- else if .Values.tsa.development.enabled -}}
http://vaultmesh-tsa.{{ .Release.Namespace }}.svc:{{ .Values.tsa.development.port }}/
{{- end -}}
{{- end -}}

{{/* Restricted pod security context (Pod Security Standard "restricted"). */}}
{{- define "vaultmesh.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Restricted container security context. */}}
{{- define "vaultmesh.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Pod settings every component shares: (dict "ctx" $ "v" .Values.operator). Renders
imagePullSecrets, priorityClassName, nodeSelector, affinity and tolerations.
*/}}
{{- define "vaultmesh.podScheduling" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A Secret key as an env var: (dict "name" "VAR" "ref" .Values.x.urlSecretRef). */}}
{{- define "vaultmesh.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end -}}

{{/* The witness key Secret (federation.witnessKeySecretRef) as a volume with one file, witness.key. */}}
{{- define "vaultmesh.witnessKeyVolume" -}}
- name: witness-key
  secret:
    secretName: {{ .Values.federation.witnessKeySecretRef.name }}
    items:
      - key: {{ .Values.federation.witnessKeySecretRef.key }}
        path: witness.key
{{- end -}}
