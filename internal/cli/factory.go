package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/state"
)

// Factory holds what commands share, built lazily: a command that never
// starts a plugin never searches for one.
type Factory struct {
	IO       *IOStreams
	Redactor *redact.Redactor

	// Global flags.
	LogLevel   string
	PluginDirs []string
	StateDir   string
	NoState    bool
	// LockFile is --lock: the plugin lock file to use instead of the
	// tokenflow.lock found from the flow's directory upward.
	LockFile string

	state state.Backend

	// errOut guards IO.ErrOut (see newFactory); the logger is built once
	// over it, so every writer of stderr shares one lock.
	errOut    *guardedWriter
	logOnce   sync.Once
	logger    hclog.Logger
	logWriter io.WriteCloser

	// Getenv reads the environment (tests replace it).
	Getenv func(string) (string, bool)
	// Executable is the tokenflow binary's path (its directory is searched
	// for plugins).
	Executable func() (string, error)
}

func newFactory(streams *IOStreams) *Factory {
	// Plugin log lines arrive on go-plugin's goroutines while the command
	// writes stderr itself: one lock serialises them, and Close detaches
	// stderr so a late line cannot write after Run returned.
	g := &guardedWriter{w: streams.ErrOut}
	own := *streams
	own.ErrOut = g
	return &Factory{IO: &own, Redactor: redact.New(), Getenv: os.LookupEnv, Executable: os.Executable, errOut: g}
}

// State opens the state once (--state, default $TOKENFLOW_STATE_DIR, else
// $XDG_STATE_HOME/tokenflow). It returns nil with --no-state. A
// postgres:// URL opens a shared state in PostgreSQL instead of the local
// SQLite one (see openShared).
func (f *Factory) State(ctx context.Context) (state.Backend, error) {
	if f.NoState {
		return nil, nil
	}
	if f.state != nil {
		return f.state, nil
	}
	dir := f.StateDir
	if dir == "" {
		if d, ok := f.Getenv("TOKENFLOW_STATE_DIR"); ok && d != "" {
			dir = d
		}
	}
	if isStateURL(dir) {
		db, err := f.openShared(ctx, dir)
		if err != nil {
			return nil, err
		}
		f.state = db
		return db, nil
	}
	db, err := state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("%w (use --state DIR to choose another state directory, or --no-state to run without one)", err)
	}
	f.state = db
	return db, nil
}

// Close releases what the factory opened, flushes the log and detaches
// stderr: what goroutines left behind log afterwards is dropped.
func (f *Factory) Close() {
	if f.state != nil {
		f.state.Close()
	}
	if f.logWriter != nil {
		f.logWriter.Close()
	}
	if f.errOut != nil {
		f.errOut.detach()
	}
}

// Logger writes to stderr through the redactor. It is built once (after
// the flags are parsed), so every command and plugin shares one writer.
func (f *Factory) Logger() hclog.Logger {
	f.logOnce.Do(func() {
		var out io.Writer = f.IO.ErrOut
		if f.errOut != nil {
			out = f.errOut
		}
		f.logWriter = f.Redactor.Writer(out)
		f.logger = hclog.New(&hclog.LoggerOptions{
			Name:   "tokenflow",
			Level:  hclog.LevelFromString(f.LogLevel),
			Output: f.logWriter,
		})
	})
	return f.logger
}

// guardedWriter serialises writes to w until detached. It has no Close:
// the engine closes a run log that is an io.Closer, and stderr outlives a
// run.
type guardedWriter struct {
	mu       sync.Mutex
	w        io.Writer
	detached bool
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.detached {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *guardedWriter) detach() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.detached = true
}

// PluginSearchDirs is the plugin search order from DESIGN.md, before $PATH:
// --plugin-dir, $TOKENFLOW_PLUGIN_DIR, the tokenflow binary's directory.
func (f *Factory) PluginSearchDirs() []string {
	dirs := append([]string(nil), f.PluginDirs...)
	if d, ok := f.Getenv("TOKENFLOW_PLUGIN_DIR"); ok && d != "" {
		dirs = append(dirs, filepath.SplitList(d)...)
	}
	if exe, err := f.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// Plugins returns a plugin manager for listing and describing (no host
// transport: describing sends no request).
func (f *Factory) Plugins() *pluginmgr.Manager {
	return pluginmgr.New(pluginmgr.Config{Dirs: f.PluginSearchDirs(), SearchPATH: true, Logger: f.Logger().Named("plugin")})
}
