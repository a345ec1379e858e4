package pluginmgr

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
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
	// go-plugin handshake, and again to answer Describe. A plugin that
	// misses it is killed. Default 10s.
	StartTimeout time.Duration
	// CallTimeout bounds one Call or CloseConnection. Generous by default
	// (5 minutes) because a call includes the host transport's retries and
	// their backoff; a plugin that misses it is killed, and started afresh
	// for the next call.
	CallTimeout time.Duration
	// Host is the only network door a plugin has: served on its call
	// socket, or on its broker for plugins without one. Required before
	// the first call.
	Host Host
	// Logger receives the plugin's own log lines (already parsed by
	// go-plugin). Pass a logger that writes through the run's redactor.
	// Default: discard.
	Logger hclog.Logger
	// Lock, when set, pins the binaries: a plugin whose binary does not
	// match it is refused before it starts (see lock.go).
	Lock *Lock
}

// Manager launches and caches plugins for one run. It is safe for concurrent
// use. Close kills everything it started.
type Manager struct {
	cfg   Config
	cache *pluginCache

	mu      sync.Mutex
	running map[string]*instance
	closed  bool
	logs    *logGate // closed with the manager (logger.go)

	// pre holds the launches Prestart began that no Get has waited for;
	// stopCtx ends them when the manager closes.
	pre     map[string]*prestart
	stopCtx context.Context
	stop    context.CancelFunc
}

type instance struct {
	client   *goplugin.Client
	cmd      *exec.Cmd
	killProc context.CancelFunc
	plugin   *grpcPlugin
	path     string
	// channel is the engine's side of the plugin's mutual TLS.
	channel *tls.Config
	// started is set once go-plugin's start ended (see exited).
	started atomic.Bool
	// quiet turns go-plugin's warnings about the process to debug once the
	// manager stops it on purpose (see gatedLogger).
	quiet *atomic.Bool
}

// DefaultCallTimeout is Config.CallTimeout's default.
const DefaultCallTimeout = 5 * time.Minute

// New returns a manager.
func New(cfg Config) *Manager {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	gate := &logGate{}
	cfg.Logger = gatedLogger{Logger: cfg.Logger, gate: gate}
	stopCtx, stop := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, cache: &pluginCache{}, running: map[string]*instance{}, logs: gate,
		pre: map[string]*prestart{}, stopCtx: stopCtx, stop: stop}
}

// Get returns the vendor's plugin, launching it when it is not running or
// has exited since. The Plugin it returns outlives the process: each Call
// goes to the running process, started afresh when the previous one died
// between two calls, so a connection made before a crash keeps working.
func (m *Manager) Get(ctx context.Context, vendor string) (Plugin, error) {
	if err := m.awaitPrestart(ctx, vendor); err != nil {
		return nil, err
	}
	inst, err := m.live(ctx, vendor)
	if err != nil {
		return nil, err
	}
	return &handle{m: m, vendor: vendor, schema: inst.plugin.schema}, nil
}

// live returns the vendor's running instance, launching one if needed.
func (m *Manager) live(ctx context.Context, vendor string) (*instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("plugin manager closed")
	}
	if inst := m.running[vendor]; inst != nil {
		if !inst.exited() {
			return inst, nil
		}
		inst.kill()
		delete(m.running, vendor)
	}
	inst, err := m.launch(ctx, vendor)
	if err != nil {
		return nil, err
	}
	m.running[vendor] = inst
	return inst, nil
}

// current returns the vendor's instance if it is still running.
func (m *Manager) current(vendor string) *instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inst := m.running[vendor]; inst != nil && !inst.exited() {
		return inst
	}
	return nil
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
	// Taken before the start, so the schema is cached under the identity
	// of the file that was launched or an older one, never a newer one.
	id, idErr := identity(path)
	if m.cfg.Lock != nil {
		if err := m.cfg.Lock.Verify(vendor, path); err != nil {
			return nil, err
		}
	}
	// Cancelling procCtx kills the process (os/exec does it, safely from
	// any goroutine, even while go-plugin is still starting it).
	procCtx, killProc := context.WithCancel(context.Background())
	cmd := exec.CommandContext(procCtx, path)
	engineTLS, channel, env, err := newChannel()
	if err != nil {
		killProc()
		return nil, fmt.Errorf("start plugin %s: %w", vendor, err)
	}
	socket, socketFile, err := newSocketPair()
	if err != nil {
		channel.Close()
		killProc()
		return nil, fmt.Errorf("start plugin %s: %w", vendor, err)
	}
	// The plugin's credentials wait on its descriptor 3 and its call socket
	// is descriptor 4; the parent's copies are closed once go-plugin's
	// start, which starts the process, returned (see below).
	cmd.ExtraFiles = []*os.File{channel, socketFile}
	cmd.Env = append(env, fmt.Sprintf("%s=%d", pb.EnvCallSocketFD, pb.CallSocketFD))
	quiet := &atomic.Bool{} // set when the manager stops the process on purpose
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  goplugin.HandshakeConfig{ProtocolVersion: pb.ProtocolVersion, MagicCookieKey: pb.MagicCookieKey, MagicCookieValue: pb.MagicCookieValue},
		Plugins:          goplugin.PluginSet{pb.PluginName: clientPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		// Mutual TLS with identities made by newChannel, not AutoMTLS
		// (P-521 keys made and used on both sides cost most of a start).
		TLSConfig: engineTLS,
		// Secrets reach a plugin only as arguments; it inherits no
		// environment (ACME_PASSWORD and friends stay with the engine).
		SkipHostEnv:  true,
		StartTimeout: m.cfg.StartTimeout,
		GRPCDialOptions: []grpc.DialOption{
			// Static windows turn off gRPC's BDP estimation, whose pings
			// cost a round trip's worth of syscalls on every small call.
			grpc.WithInitialWindowSize(1 << 20),
			grpc.WithInitialConnWindowSize(1 << 20),
		},
		Logger: m.cfg.Logger.(gatedLogger).quieted(quiet).Named(vendor),
		// Managed is false: Close kills what this manager started, no
		// process-global cleanup list is involved.
	})
	inst := &instance{client: client, cmd: cmd, killProc: killProc, path: path, channel: engineTLS, quiet: quiet}
	fail := func(err error) (*instance, error) {
		socket.Close()
		inst.kill()
		return nil, fmt.Errorf("start plugin %s (%s): %w; its process was killed", vendor, path, err)
	}
	// go-plugin's handshake: client.Client() has its own StartTimeout only
	// until the handshake line; a plugin that prints it and then never
	// speaks gRPC would hold it for gRPC's 20s connect timeout, so the
	// whole start is bounded by the waits below. Killing the process
	// unblocks the goroutine.
	handshake := make(chan handshakeResult, 1)
	go func() {
		rpc, err := client.Client()
		// The child has its descriptors (or never will).
		channel.Close()
		socketFile.Close()
		if err != nil {
			handshake <- handshakeResult{err: err}
			return
		}
		raw, err := rpc.Dispense(pb.PluginName)
		if err != nil {
			handshake <- handshakeResult{err: err}
			return
		}
		handshake <- handshakeResult{plugin: raw.(*grpcPlugin)}
	}()
	newPlugin := func() *grpcPlugin {
		return &grpcPlugin{vendor: vendor, exited: inst.exited, kill: inst.kill, callTimeout: m.cfg.CallTimeout,
			host: m.cfg.Host, hostTimeout: m.cfg.StartTimeout, // host: served at the first call
			readSessions: map[string]*pb.ReadSession{}}
	}
	// An unchanged binary answers Describe as it did: the cached answer
	// spares a round trip (and the plugin building its schema) on every
	// start's critical path. One that serves the call socket is then used
	// at once: its first call is sent while go-plugin's handshake (process
	// start, handshake line, mutual TLS) is still under way, since the
	// plugin serves the socket from its first moments; the handshake ends
	// in the background and a plugin that fails it is killed, failing the
	// calls on the socket with the reason.
	d, cached := m.cachedDescribe(path)
	cached = cached && idErr == nil
	if cached && advertises(d, pb.Capability_CAPABILITY_CALL_SOCKET) {
		p := newPlugin()
		if err := p.useDescribe(d); err == nil {
			p.socket = newCallSocket(socket, m.cfg.Host, inst.kill)
			inst.plugin = p
			go func() {
				p.finishStart(handshake, m.cfg.StartTimeout, m.stopCtx)
				inst.started.Store(true)
			}()
			return inst, nil
		}
	}
	var rpc *grpcPlugin
	select {
	case h := <-handshake:
		if h.err != nil {
			return fail(h.err)
		}
		rpc = h.plugin
	case <-time.After(m.cfg.StartTimeout):
		return fail(fmt.Errorf("no completed handshake within %s", m.cfg.StartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	p := newPlugin()
	p.client, p.broker = rpc.client, rpc.broker
	if !cached || p.useDescribe(d) != nil {
		dctx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
		err := p.describe(dctx)
		cancel()
		if err != nil {
			return fail(err)
		}
		if idErr == nil {
			m.cacheDescribe(path, id, p.described)
		}
	}
	switch {
	case p.callSocketOK:
		p.socket = newCallSocket(socket, m.cfg.Host, inst.kill)
	case p.callStreamOK:
		socket.Close()
		if p.calls, err = openCallStream(p.client); err != nil {
			return fail(err)
		}
	default:
		socket.Close()
	}
	inst.plugin = p
	inst.started.Store(true)
	return inst, nil
}

// exited reports whether the process has exited. While go-plugin's start
// is still under way (a plugin used through its call socket before it
// ended) the process counts as running: go-plugin's Exited waits for the
// start to end, and a process that died meanwhile fails its calls on the
// socket anyway.
func (inst *instance) exited() bool {
	return inst.started.Load() && inst.client.Exited()
}

// kill stops the process at once, then lets go-plugin clean up. Killing
// first matters for a plugin that stopped answering: go-plugin's own Kill
// first asks it over gRPC to exit, and waits.
func (inst *instance) kill() {
	inst.quiet.Store(true)
	inst.closeCalls()
	inst.killProc()
	inst.client.Kill()
}

// closeCalls ends the call stream, failing the calls still waiting on it.
func (inst *instance) closeCalls() {
	if inst.plugin != nil {
		inst.plugin.closeCalls()
	}
}

// Close kills every plugin process this manager started and waits for them
// to exit, so none is left behind.
func (m *Manager) Close() {
	m.stop() // a prestart in flight gives up, freeing the lock
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for vendor, inst := range m.running {
		inst.quiet.Store(true)
		inst.closeCalls()
		inst.client.Kill() // graceful first: the plugin may end sessions
		inst.killProc()
		delete(m.running, vendor)
	}
	m.logs.close()
}
