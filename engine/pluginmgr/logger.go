package pluginmgr

import (
	"sync"

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
type gatedLogger struct {
	hclog.Logger
	gate *logGate
}

func (l gatedLogger) do(f func()) {
	l.gate.mu.RLock()
	defer l.gate.mu.RUnlock()
	if !l.gate.closed {
		f()
	}
}

func (l gatedLogger) Log(level hclog.Level, msg string, args ...any) {
	l.do(func() { l.Logger.Log(level, msg, args...) })
}
func (l gatedLogger) Trace(msg string, args ...any) { l.do(func() { l.Logger.Trace(msg, args...) }) }
func (l gatedLogger) Debug(msg string, args ...any) { l.do(func() { l.Logger.Debug(msg, args...) }) }
func (l gatedLogger) Info(msg string, args ...any)  { l.do(func() { l.Logger.Info(msg, args...) }) }
func (l gatedLogger) Warn(msg string, args ...any)  { l.do(func() { l.Logger.Warn(msg, args...) }) }
func (l gatedLogger) Error(msg string, args ...any) { l.do(func() { l.Logger.Error(msg, args...) }) }

func (l gatedLogger) Named(name string) hclog.Logger {
	return gatedLogger{l.Logger.Named(name), l.gate}
}
func (l gatedLogger) ResetNamed(name string) hclog.Logger {
	return gatedLogger{l.Logger.ResetNamed(name), l.gate}
}
func (l gatedLogger) With(args ...any) hclog.Logger {
	return gatedLogger{l.Logger.With(args...), l.gate}
}
