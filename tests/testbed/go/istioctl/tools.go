//go:build tools

// Package tools pins istio.io/istio/istioctl/cmd/istioctl, built with go build from this module.
package tools

import _ "istio.io/istio/istioctl/cmd/istioctl"
