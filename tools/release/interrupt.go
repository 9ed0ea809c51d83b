package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// An interrupted command (test.sh stops its background checks with
// SIGTERM when the tests fail) runs the clean-ups registered with
// onInterrupt before it exits, so that an interrupted tidy check leaves
// neither copies of the working tree in the module cache nor its
// temporary directory; Go runs no deferred calls on a signal.
var (
	interruptMu       sync.Mutex
	interruptCleanups map[int]func()
	interruptNext     int
)

// onInterrupt registers cleanup to run if the process is interrupted; the
// returned function unregisters it (defer it where the work ends).
func onInterrupt(cleanup func()) (unregister func()) {
	interruptMu.Lock()
	defer interruptMu.Unlock()
	if interruptCleanups == nil {
		interruptCleanups = map[int]func(){}
	}
	id := interruptNext
	interruptNext++
	interruptCleanups[id] = cleanup
	return func() {
		interruptMu.Lock()
		defer interruptMu.Unlock()
		delete(interruptCleanups, id)
	}
}

// handleInterrupts runs the registered clean-ups and exits with status 1
// on SIGINT or SIGTERM; stop ends the handling.
func handleInterrupts() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			interruptMu.Lock()
			for id := interruptNext - 1; id >= 0; id-- {
				if cleanup, ok := interruptCleanups[id]; ok {
					cleanup()
				}
			}
			fmt.Fprintf(os.Stderr, "release: %v: cleaned up\n", sig)
			os.Exit(1)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
