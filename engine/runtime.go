package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
)

// Runtime is what the runs of one process share: one plugin process per
// vendor and the host transport those plugins reach the network through.
// A fleet run makes one Runtime and runs every target on it, so plugin
// launches do not grow with the number of targets; each call carries its
// run's connection id and step id, so the runs stay apart.
type Runtime struct {
	red       *redact.Redactor
	transport *hostnet.Transport
	plugins   *pluginmgr.Manager
	cassette  *hostnet.Cassette
	logger    hclog.Logger

	// sole marks a runtime made for one run (RuntimeOptions.Sole); used
	// is set when that run takes it.
	sole bool

	mu     sync.Mutex
	closed bool
	used   bool
}

// pluginHash is the SHA-256 of a plugin binary. The plugin manager hashes
// a binary again only when its identity (device, inode, size, modification
// and change times) changed, and remembers the sum across processes, so
// neither the runs of a fleet nor successive runs read the 20 MB binary
// each time; a replaced or edited binary is still caught.
func (rt *Runtime) pluginHash(path string) (string, error) {
	return rt.plugins.Checksum(path)
}

// RuntimeOptions configures NewRuntime; the fields mean what the Options
// fields of the same names mean.
type RuntimeOptions struct {
	PluginDirs         []string
	SearchPATH         bool
	PluginStartTimeout time.Duration
	Record, Replay     string
	ReplayEdited       bool
	Redactor           *redact.Redactor
	Logger             hclog.Logger
	Retry              hostnet.RetryPolicy
	PluginLock         *pluginmgr.Lock
	// Sole makes a runtime for one run, made early so its plugins can
	// start (Prestart) while the caller still opens its state: the run
	// that takes it (Options.Runtime) uses it as its own, with unprefixed
	// ids, Record and Replay from here, and closes it when it ends. A
	// second run refuses it.
	Sole bool
}

// NewRuntime starts nothing yet: plugins launch on a run's first connect().
func NewRuntime(o RuntimeOptions) (*Runtime, error) {
	if o.Record != "" && o.Replay != "" {
		return nil, errors.New("--record and --replay cannot be combined")
	}
	if o.Redactor == nil {
		o.Redactor = redact.New()
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	var cas *hostnet.Cassette
	var err error
	switch {
	case o.Record != "":
		cas, err = hostnet.OpenCassette(o.Record, hostnet.Record, o.Redactor)
	case o.Replay != "":
		var opts []hostnet.CassetteOption
		if o.ReplayEdited {
			opts = append(opts, hostnet.AllowEdited())
		}
		cas, err = hostnet.OpenCassette(o.Replay, hostnet.Replay, o.Redactor, opts...)
	}
	if err != nil {
		return nil, err
	}
	tr := hostnet.New(hostnet.Options{Redactor: o.Redactor, Cassette: cas, Retry: o.Retry, Logger: o.Logger})
	return &Runtime{
		red:       o.Redactor,
		transport: tr,
		cassette:  cas,
		logger:    o.Logger,
		sole:      o.Sole,
		plugins: pluginmgr.New(pluginmgr.Config{
			Dirs: o.PluginDirs, SearchPATH: o.SearchPATH, StartTimeout: o.PluginStartTimeout,
			Host: tr, Logger: o.Logger.Named("plugin"), Lock: o.PluginLock,
		}),
	}, nil
}

// Prestart launches the vendors' plugins in the background (see
// pluginmgr.Manager.Prestart): a caller that knows which vendors a flow
// connects to (ScanVars) overlaps their start with its own set-up. It
// never fails; a run's connect() reports a launch that did.
func (rt *Runtime) Prestart(vendors ...string) { rt.plugins.Prestart(vendors...) }

// take claims a sole runtime for its one run.
func (rt *Runtime) take() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.used {
		return errors.New("engine: a Sole runtime serves one run; make one per run")
	}
	rt.used = true
	return nil
}

// Plugins is the runtime's plugin manager.
func (rt *Runtime) Plugins() *pluginmgr.Manager { return rt.plugins }

// Close saves the cassette and stops every plugin process. It is safe to
// call twice.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil
	}
	rt.closed = true
	var errs []error
	if rt.cassette != nil {
		if err := rt.cassette.Save(); err != nil {
			errs = append(errs, fmt.Errorf("save cassette: %w", err))
		}
	}
	rt.plugins.Close()
	rt.transport.Close()
	return errors.Join(errs...)
}

// Replaying reports whether the runtime answers from a cassette.
func (rt *Runtime) Replaying() bool { return rt.cassette != nil && rt.cassette.Replaying() }
