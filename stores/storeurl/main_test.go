package storeurl_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every store opened by a test is closed: no pool or client goroutine is
// left behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
