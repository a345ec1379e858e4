package cli

import (
	"errors"
	"fmt"
)

// Exit codes. A dry-run with pending changes exits 2, like `terraform plan
// -detailed-exitcode`, so CI can tell "would change" from "failed"; a run
// stopped by Ctrl-C or SIGTERM that `tokenflow run --resume` can continue
// exits 3, so a wrapper can resume it rather than start over.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitPending     = 2
	ExitInterrupted = 3
)

// InterruptedError reports a journaled run stopped by a signal: it can be
// resumed.
type InterruptedError struct {
	RunID string
	Err   error
	// Resume is the command that continues the run, when it is not
	// `tokenflow run --resume RUN` (a fleet run's names its inventory).
	Resume string
}

func (e *InterruptedError) Error() string {
	resume := e.Resume
	if resume == "" {
		resume = "tokenflow run --resume " + e.RunID
	}
	return fmt.Sprintf("%s\nRun %s was interrupted; continue it with: %s", e.Err, e.RunID, resume)
}
func (e *InterruptedError) Unwrap() error { return e.Err }

// PendingError reports a dry-run that found changes to make. It prints
// nothing of its own; the plan already said it.
type PendingError struct{ Changes int }

func (e *PendingError) Error() string { return fmt.Sprintf("%d change(s) pending", e.Changes) }

// SilentError exits 1 without printing (the command printed already).
type SilentError struct{ Err error }

func (e *SilentError) Error() string { return e.Err.Error() }
func (e *SilentError) Unwrap() error { return e.Err }

// exitCode maps an error to the process exit code, in one place.
func exitCode(err error) int {
	var pending *PendingError
	var interrupted *InterruptedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &pending):
		return ExitPending
	case errors.As(err, &interrupted):
		return ExitInterrupted
	}
	return ExitError
}
