//go:build tools

// Package tools pins github.com/argoproj/argo-cd/v3/cmd, argo-cd's multi-call
// binary; built with go build -o .../argocd it acts as the argocd CLI.
package tools

import _ "github.com/argoproj/argo-cd/v3/cmd"
