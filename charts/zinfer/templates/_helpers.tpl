{{/*
Names, labels and shared pieces. Every helper is namespaced `zinfer.`; every name is truncated to
63 characters (DNS label); selector labels never carry the chart version.
*/}}

{{- define "zinfer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zinfer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "zinfer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* `<fullname>-modelserver`: Deployment, headless Service (the name the web tier resolves), HPA, PDB. */}}
{{- define "zinfer.modelserver.fullname" -}}
{{- printf "%s-modelserver" (include "zinfer.fullname" . | trunc 51 | trimSuffix "-") }}
{{- end }}

{{- define "zinfer.modelserver.metricsName" -}}
{{- printf "%s-metrics" (include "zinfer.modelserver.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "zinfer.webapp.fullname" -}}
{{- printf "%s-webapp" (include "zinfer.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "zinfer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zinfer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels of everything; call with (dict "ctx" $ "component" "webapp"). */}}
{{- define "zinfer.labels" -}}
helm.sh/chart: {{ include "zinfer.chart" .ctx }}
{{ include "zinfer.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: zinfer
{{- end }}

{{- define "zinfer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zinfer.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* Image reference; call with (dict "ctx" $ "image" .Values.webapp.image). */}}
{{- define "zinfer.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/* Restricted pod security context (runAsNonRoot, numeric ids, seccomp RuntimeDefault). */}}
{{- define "zinfer.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "zinfer.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* HTTP probe; call with (dict "probe" .Values.x.probes.startup "port" "http"). */}}
{{- define "zinfer.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ .port }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}

{{/* Topology spread constraints with the component's selector filled in. */}}
{{- define "zinfer.topologySpread" -}}
{{- $selector := include "zinfer.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml }}
{{- range .constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}
{{- end }}
- {{ toYaml $c | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* Grace periods: explicit values must outlast preStop + drain; null computes them. */}}
{{- define "zinfer.modelserver.terminationGracePeriodSeconds" -}}
{{- $ms := .Values.modelserver }}
{{- $floor := add (int $ms.preStopSleepSeconds) (int (ceil $ms.drainTimeoutSeconds)) }}
{{- if kindIs "invalid" $ms.terminationGracePeriodSeconds }}
{{- add $floor 5 }}
{{- else if le (int $ms.terminationGracePeriodSeconds) $floor }}
{{- fail (printf "modelserver.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + drainTimeoutSeconds (%v)" $ms.terminationGracePeriodSeconds $floor) }}
{{- else }}
{{- $ms.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{- define "zinfer.webapp.terminationGracePeriodSeconds" -}}
{{- $wa := .Values.webapp }}
{{- $floor := add (int $wa.preStopSleepSeconds) (int $wa.gracefulTimeoutSeconds) }}
{{- if kindIs "invalid" $wa.terminationGracePeriodSeconds }}
{{- add $floor 5 }}
{{- else if le (int $wa.terminationGracePeriodSeconds) $floor }}
{{- fail (printf "webapp.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + gracefulTimeoutSeconds (%v)" $wa.terminationGracePeriodSeconds $floor) }}
{{- else }}
{{- $wa.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Web-app endpoints: the headless Service unless given. */}}
{{- define "zinfer.webapp.endpoints" -}}
{{- if .Values.webapp.modelServerEndpoints }}
{{- join "," .Values.webapp.modelServerEndpoints }}
{{- else }}
{{- printf "tcp://%s:%v" (include "zinfer.modelserver.fullname" .) .Values.modelserver.zmqPort }}
{{- end }}
{{- end }}

{{/* Checks across values that the schema cannot express with a clear message. */}}
{{- define "zinfer.validate" -}}
{{- $ms := .Values.modelserver }}
{{- if and $ms.autoscaling.enabled $ms.keda.enabled }}
{{- fail "modelserver.autoscaling.enabled and modelserver.keda.enabled are exclusive: KEDA creates its own HPA, two HPAs on one Deployment fight. Enable one." }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled are exclusive: every pod would be scraped twice." }}
{{- end }}
{{- if gt (int $ms.autoscaling.minReplicas) (int $ms.autoscaling.maxReplicas) }}
{{- fail "modelserver.autoscaling.minReplicas must not exceed maxReplicas" }}
{{- end }}
{{- if gt (int .Values.webapp.autoscaling.minReplicas) (int .Values.webapp.autoscaling.maxReplicas) }}
{{- fail "webapp.autoscaling.minReplicas must not exceed maxReplicas" }}
{{- end }}
{{- if and (not .Values.webapp.modelServerEndpoints) (le (float64 $ms.preStopSleepSeconds) (float64 .Values.webapp.resolveIntervalSeconds)) }}
{{- fail "modelserver.preStopSleepSeconds must exceed webapp.resolveIntervalSeconds, or web pods keep sending to a terminating model server" }}
{{- end }}
{{- end }}
