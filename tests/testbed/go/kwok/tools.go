//go:build tools

// Package tools pins sigs.k8s.io/kwok/cmd/kwok, built with go build from this module.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
