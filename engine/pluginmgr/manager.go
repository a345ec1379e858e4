package pluginmgr

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
)

// Config configures a Manager.
type Config struct {
	// Dirs are searched in order for tokenflow-plugin-<vendor>. The CLI
	// passes --plugin-dir, $TOKENFLOW_PLUGIN_DIR and the tokenflow binary's
	// own directory, in that order.
	Dirs []string
	// SearchPATH adds $PATH after Dirs.
	SearchPATH bool
	// StartTimeout bounds how long a plugin may take to complete the
	// go-plugin handshake. Default 10s.
	StartTimeout time.Duration
	// Host is served on every plugin's broker: the only network door a
	// plugin has. Required before the first Get.
	Host pb.HostServer
	// Logger receives the plugin's own log lines (already parsed by
	// go-plugin). Pass a logger that writes through the run's redactor.
	// Default: discard.
	Logger hclog.Logger
}

// Manager launches and caches plugins for one run. It is safe for concurrent
// use. Close kills everything it started.
type Manager struct {
	cfg Config

	mu      sync.Mutex
	running map[string]*instance
	closed  bool
}

type instance struct {
	client *goplugin.Client
	plugin *grpcPlugin
	path   string
}

// New returns a manager.
func New(cfg Config) *Manager {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Manager{cfg: cfg, running: map[string]*instance{}}
}

// Get returns the vendor's running plugin, launching it when it is not
// running or has exited since.
func (m *Manager) Get(ctx context.Context, vendor string) (Plugin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("plugin manager closed")
	}
	if inst := m.running[vendor]; inst != nil {
		if !inst.client.Exited() {
			return inst.plugin, nil
		}
		inst.client.Kill()
		delete(m.running, vendor)
	}
	inst, err := m.launch(ctx, vendor)
	if err != nil {
		return nil, err
	}
	m.running[vendor] = inst
	return inst.plugin, nil
}

// Path returns the binary path of a launched plugin ("" if not launched).
func (m *Manager) Path(vendor string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inst := m.running[vendor]; inst != nil {
		return inst.path
	}
	return ""
}

func (m *Manager) launch(ctx context.Context, vendor string) (*instance, error) {
	path, err := m.Find(vendor)
	if err != nil {
		return nil, err
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  goplugin.HandshakeConfig{ProtocolVersion: pb.ProtocolVersion, MagicCookieKey: pb.MagicCookieKey, MagicCookieValue: pb.MagicCookieValue},
		Plugins:          goplugin.PluginSet{pb.PluginName: clientPlugin{}},
		Cmd:              exec.Command(path),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		// Secrets reach a plugin only as arguments; it inherits no
		// environment (VCF_PASSWORD and friends stay with the engine).
		SkipHostEnv:  true,
		StartTimeout: m.cfg.StartTimeout,
		GRPCDialOptions: []grpc.DialOption{
			// Static windows turn off gRPC's BDP estimation, whose pings
			// cost a round trip's worth of syscalls on every small call.
			grpc.WithInitialWindowSize(1 << 20),
			grpc.WithInitialConnWindowSize(1 << 20),
		},
		Logger: m.cfg.Logger.Named(vendor),
		// Managed is false: Close kills what this manager started, no
		// process-global cleanup list is involved.
	})
	fail := func(err error) (*instance, error) {
		client.Kill()
		return nil, fmt.Errorf("start plugin %s (%s): %w", vendor, path, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpc.Dispense(pb.PluginName)
	if err != nil {
		return fail(err)
	}
	p := raw.(*grpcPlugin)
	p.vendor = vendor
	p.exited = client.Exited
	if m.cfg.Host != nil {
		if err := p.serveHost(m.cfg.Host, m.cfg.StartTimeout); err != nil {
			return fail(err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	if err := p.describe(dctx); err != nil {
		return fail(err)
	}
	return &instance{client: client, plugin: p, path: path}, nil
}

// Close kills every plugin process this manager started and waits for them
// to exit, so none is left behind.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for vendor, inst := range m.running {
		inst.client.Kill()
		delete(m.running, vendor)
	}
}
