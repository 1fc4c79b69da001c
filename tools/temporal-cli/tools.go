//go:build tools

// Package tools only records the dependency on the Temporal CLI so `go mod tidy` keeps it.
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
