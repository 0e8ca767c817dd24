//go:build tools

// Package tools pins helm.sh/helm/v4/cmd/helm, built with go build from this module.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
