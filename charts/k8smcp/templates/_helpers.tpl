{{/* Names and labels. */}}
{{- define "k8smcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "k8smcp.fullname" -}}
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

{{- define "k8smcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k8smcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "k8smcp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "k8smcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "k8smcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "k8smcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "k8smcp.authSecretName" -}}
{{- default (printf "%s-auth" (include "k8smcp.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "k8smcp.authSecretKey" -}}
{{- ternary .Values.auth.existingSecretKey "token" (ne .Values.auth.existingSecret "") }}
{{- end }}

{{/*
config key -> the K8SMCP_* variable of `k8smcp serve` it sets. Every key of
.Values.config must be here (the template fails otherwise), and every variable of
`k8smcp serve` must be here or set elsewhere in the chart (tests/unit/test_chart.py).
*/}}
{{- define "k8smcp.settings" -}}
logLevel: K8SMCP_LOG_LEVEL
logFormat: K8SMCP_LOG_FORMAT
timeout: K8SMCP_TIMEOUT
maxTimeout: K8SMCP_MAX_TIMEOUT
maxOutputBytes: K8SMCP_MAX_OUTPUT_BYTES
outputBudget: K8SMCP_OUTPUT_BUDGET
maxOutputBudget: K8SMCP_MAX_OUTPUT_BUDGET
maxConcurrency: K8SMCP_MAX_CONCURRENCY
queueTimeout: K8SMCP_QUEUE_TIMEOUT
discoveryCache: K8SMCP_DISCOVERY_CACHE
cacheDir: K8SMCP_CACHE_DIR
maxKubeconfigBytes: K8SMCP_MAX_KUBECONFIG_BYTES
maxBodyBytes: K8SMCP_MAX_BODY_BYTES
passEnv: K8SMCP_PASS_ENV
allowDefaultKubeconfig: K8SMCP_ALLOW_DEFAULT_KUBECONFIG
kubectlBin: K8SMCP_KUBECTL_BIN
helmBin: K8SMCP_HELM_BIN
istioctlBin: K8SMCP_ISTIOCTL_BIN
argocdBin: K8SMCP_ARGOCD_BIN
readOnly: K8SMCP_READ_ONLY
allowedExecPlugins: K8SMCP_ALLOWED_EXEC_PLUGINS
allowedServers: K8SMCP_ALLOWED_SERVERS
deniedServers: K8SMCP_DENIED_SERVERS
allowedHosts: K8SMCP_ALLOWED_HOSTS
allowedOrigins: K8SMCP_ALLOWED_ORIGINS
keepAliveTimeout: K8SMCP_KEEP_ALIVE_TIMEOUT
allowImpersonation: K8SMCP_ALLOW_IMPERSONATION
allowRegistryLogin: K8SMCP_ALLOW_REGISTRY_LOGIN
allowLocalFiles: K8SMCP_ALLOW_LOCAL_FILES
allowUrls: K8SMCP_ALLOW_URLS
redactSecrets: K8SMCP_REDACT_SECRETS
confine: K8SMCP_CONFINE
{{- end }}

{{/* Hosts the Service, the Ingress and a port-forward reach the pods by, for K8SMCP_ALLOWED_HOSTS. */}}
{{- define "k8smcp.serviceHosts" -}}
{{- $hosts := list }}
{{- if .Values.service.addToAllowedHosts }}
{{- $svc := include "k8smcp.fullname" . }}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.%s" $svc .Release.Namespace .Values.service.clusterDomain) }}
{{- /* kubectl port-forward reaches the pods as localhost */}}
{{- range $name := concat $names (list "127.0.0.1" "localhost") }}
{{- $hosts = append $hosts $name }}
{{- $hosts = append $hosts (printf "%s:*" $name) }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $hosts }}
{{- end }}

{{/* A value of .Values.config as the variable's text: lists joined, whole numbers without exponents. */}}
{{- define "k8smcp.envValue" -}}
{{- $v := . }}
{{- if kindIs "slice" $v }}
{{- join "," $v }}
{{- else if and (kindIs "float64" $v) (eq $v (floor $v)) }}
{{- printf "%d" (int64 $v) }}
{{- else }}
{{- toString $v }}
{{- end }}
{{- end }}

{{/* The container's env: one entry per set config key, the auth token, the default kubeconfig. */}}
{{- define "k8smcp.env" -}}
{{- $settings := include "k8smcp.settings" . | fromYaml }}
{{- range $key, $_ := .Values.config }}
{{- if not (hasKey $settings $key) }}
{{- fail (printf "config.%s is not a k8smcp setting (known: %s)" $key (keys $settings | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- $config := deepCopy .Values.config }}
{{- $extraHosts := include "k8smcp.serviceHosts" . | fromJsonArray }}
{{- if $extraHosts }}
{{- $_ := set $config "allowedHosts" (concat (default (list) $config.allowedHosts) $extraHosts | uniq) }}
{{- end }}
{{- range $key, $name := $settings }}
{{- $value := index $config $key }}
{{- if not (or (kindIs "invalid" $value) (and (kindIs "string" $value) (eq $value "")) (and (kindIs "slice" $value) (eq (len $value) 0))) }}
- name: {{ $name }}
  value: {{ include "k8smcp.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- if .Values.auth.enabled }}
{{- if .Values.auth.mountAsFile }}
- name: K8SMCP_AUTH_TOKEN_FILE
  value: /var/run/secrets/k8smcp/token
{{- else }}
- name: K8SMCP_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "k8smcp.authSecretName" . }}
      key: {{ include "k8smcp.authSecretKey" . }}
{{- end }}
{{- else if .Values.auth.insecureNoAuth }}
- name: K8SMCP_INSECURE_NO_AUTH
  value: "true"
{{- else }}
{{- fail "auth.enabled=false: the server refuses to listen beyond loopback without a token; set auth.insecureNoAuth=true as well if a proxy in front of it authenticates every request" }}
{{- end }}
{{- if not (or .Values.config.allowedServers .Values.anyServer) }}
{{- fail "which clusters may this server reach? List their API servers in config.allowedServers (hostnames such as *.example.com, or CIDRs), or set anyServer=true to allow every address the server's policy allows (never loopback, link-local or cloud metadata)" }}
{{- end }}
{{- with .Values.defaultKubeconfig.existingSecret }}
- name: K8SMCP_KUBECONFIG_B64
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.defaultKubeconfig.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
