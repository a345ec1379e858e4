package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// FlowError is an error in a flow, located at a line of it.
type FlowError struct {
	Position  string // file:line:col
	Msg       string
	Backtrace []string // calling frames, outermost first, when the error is inside a def or a load
	// Plan is set when a dry-run stopped because the flow needed a value
	// only apply knows.
	Plan bool
	// Err is the cause, when the error came from a builtin (an op's
	// *pluginmgr.OpError, say): errors.As reaches it through FlowError.
	Err error
	// Interrupted is set when the run's context was cancelled (Ctrl-C,
	// SIGTERM); errors.Is(err, ErrInterrupted) reports it.
	Interrupted bool
}

// ErrInterrupted marks a run stopped because its context was cancelled. A
// journaled run so stopped is recorded as "interrupted" and can be resumed.
var ErrInterrupted = errors.New("run interrupted")

// Unwrap exposes the cause and, for an interrupted run, ErrInterrupted.
func (e *FlowError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Interrupted {
		errs = append(errs, ErrInterrupted)
	}
	return errs
}

// causeError gives an error its own message while keeping the cause
// reachable with errors.Is and errors.As.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// interrupted reports whether err ended the run because ctx was cancelled.
func interrupted(ctx context.Context, err error) bool {
	return err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled))
}

func (e *FlowError) Error() string {
	var b strings.Builder
	if e.Position != "" {
		b.WriteString(e.Position)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	for _, f := range e.Backtrace {
		b.WriteString("\n  called from ")
		b.WriteString(f)
	}
	return b.String()
}

// flowError turns Starlark's errors into FlowErrors with the position of
// the innermost flow line.
func (r *run) flowError(err error) error {
	if err == nil {
		return nil
	}
	var serr syntax.Error
	if errors.As(err, &serr) {
		return &FlowError{Position: serr.Pos.String(), Msg: serr.Msg}
	}
	var evalErr *starlark.EvalError
	if !errors.As(err, &evalErr) {
		if interrupted(r.ctx, err) && !errors.Is(err, ErrInterrupted) {
			return fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return err
	}
	fe := &FlowError{Msg: evalErr.Msg, Err: evalErr.Unwrap(), Interrupted: interrupted(r.ctx, err)}
	var frames []string
	for _, fr := range evalErr.CallStack {
		if fr.Pos.Filename() == "<builtin>" || !fr.Pos.IsValid() {
			continue
		}
		frames = append(frames, fmt.Sprintf("%s (in %s)", fr.Pos, fr.Name))
	}
	if n := len(frames); n > 0 {
		// Innermost flow frame is the position; the rest is the backtrace.
		last := evalErr.CallStack[len(evalErr.CallStack)-1]
		for i := len(evalErr.CallStack) - 1; i >= 0; i-- {
			fr := evalErr.CallStack[i]
			if fr.Pos.Filename() != "<builtin>" && fr.Pos.IsValid() {
				last = fr
				break
			}
		}
		fe.Position = last.Pos.String()
		for i := n - 2; i >= 0; i-- {
			fe.Backtrace = append(fe.Backtrace, frames[i])
		}
	}
	fe.Msg = strings.TrimPrefix(fe.Msg, "Starlark computation cancelled: ")
	return fe
}
