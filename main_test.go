package session_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package must leave no goroutine behind: janitors,
// cleaners and servers are stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
