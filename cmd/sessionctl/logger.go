package main

import "log/slog"

// discardLogger silences the manager's event log: sessionctl reports what
// it did on stdout and failures on stderr.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
