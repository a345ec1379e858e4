package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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

	state *state.DB

	// Getenv reads the environment (tests replace it).
	Getenv func(string) (string, bool)
	// Executable is the tokenflow binary's path (its directory is searched
	// for plugins).
	Executable func() (string, error)
}

func newFactory(io *IOStreams) *Factory {
	return &Factory{IO: io, Redactor: redact.New(), Getenv: os.LookupEnv, Executable: os.Executable}
}

// State opens the state database once (--state, default
// $XDG_STATE_HOME/tokenflow). It returns nil with --no-state.
func (f *Factory) State(ctx context.Context) (*state.DB, error) {
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
	db, err := state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("%w (use --state DIR to choose another state directory, or --no-state to run without one)", err)
	}
	f.state = db
	return db, nil
}

// Close releases what the factory opened.
func (f *Factory) Close() {
	if f.state != nil {
		f.state.Close()
	}
}

// Logger writes to stderr through the redactor.
func (f *Factory) Logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "tokenflow",
		Level:  hclog.LevelFromString(f.LogLevel),
		Output: f.Redactor.Writer(f.IO.ErrOut),
	})
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
