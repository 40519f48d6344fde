{{/* name is the chart name, or nameOverride. */}}
{{- define "release-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
fullname names the objects: fullnameOverride, else the release name when it already contains the
chart name, else <release>-<chart>. Shard Deployments append "-shard-<index>", so keep it short.
*/}}
{{- define "release-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart is name-version, for the helm.sh/chart label. */}}
{{- define "release-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* selectorLabels select every pod of the release (all shards). */}}
{{- define "release-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "release-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* labels go on every object. */}}
{{- define "release-controller.labels" -}}
helm.sh/chart: {{ include "release-controller.chart" . }}
{{ include "release-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: openchoreo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* serviceAccountName is the ServiceAccount the pods run as. */}}
{{- define "release-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "release-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* leaseNamespace is where the Leases (and the Role allowing them) live. */}}
{{- define "release-controller.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* image is repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "release-controller.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) }}
{{- end }}

{{/*
shards is the list of shard indexes this release renders, as a JSON list: all of 0..count-1, or only
sharding.index when it is set. It also refuses settings that would run two active controllers.
*/}}
{{- define "release-controller.shards" -}}
{{- $count := int .Values.sharding.count }}
{{- if lt $count 1 }}
{{- fail (printf "sharding.count must be at least 1, got %v" .Values.sharding.count) }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled=true: without a Lease every replica would reconcile every Release" }}
{{- end }}
{{- if kindIs "invalid" .Values.sharding.index }}
{{- until $count | toJson }}
{{- else }}
{{- $index := int .Values.sharding.index }}
{{- if or (lt $index 0) (ge $index $count) }}
{{- fail (printf "sharding.index must be between 0 and sharding.count-1 (%d), got %v" (sub $count 1) .Values.sharding.index) }}
{{- end }}
{{- list $index | toJson }}
{{- end }}
{{- end }}

{{/* tunnelProxyName names the proxy server's Deployment and frontend Service. */}}
{{- define "release-controller.tunnelProxyName" -}}
{{- printf "%s-proxy-server" (include "release-controller.fullname" .) }}
{{- end }}

{{/* tunnelAddress is the proxy server's frontend: tunnel.address, else the one the chart deploys. */}}
{{- define "release-controller.tunnelAddress" -}}
{{- if .Values.tunnel.address }}
{{- .Values.tunnel.address }}
{{- else if .Values.tunnel.proxyServer.deploy }}
{{- printf "%s.%s.svc:%d" (include "release-controller.tunnelProxyName" .) .Release.Namespace (int .Values.tunnel.proxyServer.ports.frontend) }}
{{- else }}
{{- fail "tunnel.enabled needs tunnel.address, or tunnel.proxyServer.deploy=true" }}
{{- end }}
{{- end }}

{{/* tunnelProxySelectorLabels select the proxy server's pod, and never the controller's (another name). */}}
{{- define "release-controller.tunnelProxySelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-proxy-server" (include "release-controller.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* tunnelProxyLabels go on the proxy server's objects. */}}
{{- define "release-controller.tunnelProxyLabels" -}}
helm.sh/chart: {{ include "release-controller.chart" . }}
{{ include "release-controller.tunnelProxySelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.tunnel.proxyServer.image.tag | quote }}
app.kubernetes.io/component: tunnel-proxy-server
app.kubernetes.io/part-of: openchoreo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* metricsServiceLabels select the metrics Service alone (not the proxy server's Services). */}}
{{- define "release-controller.metricsServiceLabels" -}}
{{ include "release-controller.selectorLabels" . }}
app.kubernetes.io/component: controller
{{- end }}
