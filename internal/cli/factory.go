package cli

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
)

// Factory holds what commands share, built lazily: a command that never
// starts a plugin never searches for one.
type Factory struct {
	IO       *IOStreams
	Redactor *redact.Redactor

	// Global flags.
	LogLevel   string
	PluginDirs []string

	// Getenv reads the environment (tests replace it).
	Getenv func(string) (string, bool)
	// Executable is the tokenflow binary's path (its directory is searched
	// for plugins).
	Executable func() (string, error)
}

func newFactory(io *IOStreams) *Factory {
	return &Factory{IO: io, Redactor: redact.New(), Getenv: os.LookupEnv, Executable: os.Executable}
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
