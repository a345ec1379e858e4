package pluginmgr

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// logGate stops go-plugin's goroutines from logging once the manager is
// closed. go-plugin relays a plugin's stderr and stdio from goroutines that
// can outlive Close by a moment; without the gate they write into the
// caller's logger after the run returned, racing with whoever reads what
// was logged (a test's buffer, a closed terminal writer). Logging holds the
// read side, so Close waits for a line being written and then drops the
// rest.
type logGate struct {
	mu     sync.RWMutex
	closed bool
}

func (g *logGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// gatedLogger is an hclog.Logger that logs only while its gate is open;
// loggers derived from it (Named, With) share the gate.
//
// With quiet set (a plugin the manager is stopping on purpose), warnings
// and errors are logged at debug level: go-plugin reports a process it
// killed as "plugin failed to exit gracefully" and "plugin process exited:
// signal: killed", which on a terminal read as a second failure beside the
// run's own error.
type gatedLogger struct {
	hclog.Logger
	gate  *logGate
	quiet *atomic.Bool // nil: never
}

func (l gatedLogger) do(f func()) {
	l.gate.mu.RLock()
	defer l.gate.mu.RUnlock()
	if !l.gate.closed {
		f()
	}
}

func (l gatedLogger) level(level hclog.Level) hclog.Level {
	if level > hclog.Info && l.quiet != nil && l.quiet.Load() {
		return hclog.Debug
	}
	return level
}

func (l gatedLogger) Log(level hclog.Level, msg string, args ...any) {
	l.do(func() { l.Logger.Log(l.level(level), msg, args...) })
}
func (l gatedLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l gatedLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l gatedLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l gatedLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l gatedLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// quieted returns a logger sharing l's gate whose warnings and errors turn
// to debug once quiet is set.
func (l gatedLogger) quieted(quiet *atomic.Bool) gatedLogger {
	return gatedLogger{l.Logger, l.gate, quiet}
}

func (l gatedLogger) Named(name string) hclog.Logger {
	return gatedLogger{l.Logger.Named(name), l.gate, l.quiet}
}
func (l gatedLogger) ResetNamed(name string) hclog.Logger {
	return gatedLogger{l.Logger.ResetNamed(name), l.gate, l.quiet}
}
func (l gatedLogger) With(args ...any) hclog.Logger {
	return gatedLogger{l.Logger.With(args...), l.gate, l.quiet}
}
