package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/tokenflow/tokenflow/engine/schema"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// clientPlugin is the engine's half of the go-plugin GRPCPlugin: it only
// builds clients.
type clientPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (clientPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the engine does not serve plugins")
}

func (clientPlugin) GRPCClient(_ context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcPlugin{client: pb.NewPluginClient(conn), broker: broker}, nil
}

// grpcPlugin adapts the gRPC client to Plugin.
type grpcPlugin struct {
	client pb.PluginClient
	broker *goplugin.GRPCBroker
	hostID uint32
	schema *schema.Schema
	// described is Describe's answer as sent, for the cache.
	described *pb.DescribeResponse
	exited    func() bool
	kill      func()
	vendor    string
	// host is served on the plugin's broker at the first call (hostBroker),
	// not at launch: go-plugin drops a broker's connection info that the
	// other side has not claimed within 5 s, so a plugin started ahead of
	// its first call (Prestart, a run waiting for its target's lock, a flow
	// that connects and then computes) would find no host to dial.
	host        Host
	hostTimeout time.Duration
	hostOnce    sync.Once
	hostErr     error
	// callTimeout bounds each Call and CloseConnection.
	callTimeout time.Duration
	// callStreamOK and callSocketOK: Describe advertised
	// CAPABILITY_CALL_STREAM, CAPABILITY_CALL_SOCKET.
	callStreamOK, callSocketOK bool
	// socket carries every call, and their host exchanges, when the plugin
	// serves the call socket (set once at launch); then calls is nil and
	// the broker serves nothing.
	socket *callSocket
	// startErr is why the handshake of a plugin used before it ended
	// failed (see finishStart).
	startErr atomic.Pointer[error]
	callsMu  sync.Mutex
	// calls carries Call when the plugin serves Plugin.Calls; nil means
	// the unary Call (plugins that do not advertise it). Guarded by
	// callsMu: a stream that broke while the process lives (an answer
	// over gRPC's message size, say) is replaced for the next call.
	calls *callStream

	// reads are the ops declared with a GET (pb.Op.get), by name; see
	// sendRead.
	reads        map[string]*pb.Op
	readMu       sync.Mutex
	readSessions map[string]*pb.ReadSession // by connection id
}

// handshakeResult is the end of go-plugin's start: the dispensed plugin
// or why there is none.
type handshakeResult struct {
	plugin *grpcPlugin
	err    error
}

// finishStart waits, in the background, for the handshake of a plugin
// already used through its call socket. A plugin that fails it, or misses
// timeout, is killed, and its calls fail with the reason (startErr).
func (p *grpcPlugin) finishStart(handshake <-chan handshakeResult, timeout time.Duration, stop context.Context) {
	var err error
	select {
	case h := <-handshake:
		if err = h.err; err == nil {
			p.callsMu.Lock()
			p.client, p.broker = h.plugin.client, h.plugin.broker
			p.callsMu.Unlock()
			return
		}
	case <-time.After(timeout):
		err = fmt.Errorf("no completed handshake within %s", timeout)
	case <-stop.Done():
		err = errors.New("the plugin manager closed during the start")
	}
	p.startErr.Store(&err)
	p.kill()
}

// callStream returns the stream to send a call on, opening a new one when
// the last one broke; nil means the unary Call.
func (p *grpcPlugin) callStream() *callStream {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	if p.calls == nil || !p.calls.broken() {
		return p.calls
	}
	if p.exited != nil && p.exited() {
		return p.calls // the call fails as a crash; the next one restarts the process
	}
	s, err := openCallStream(p.client)
	if err != nil {
		return p.calls
	}
	p.calls = s
	return s
}

// closeCalls ends the call socket or stream, failing the calls still
// waiting on it.
func (p *grpcPlugin) closeCalls() {
	if p.socket != nil {
		p.socket.close()
	}
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	if p.calls != nil {
		p.calls.close()
	}
}

// serveHost starts the host transport on the plugin's broker, once per
// process: AcceptAndServe opens a listener per call and is meant to be used
// sparingly.
//
// It waits until the broker has announced the listener: a plugin killed
// before that would make go-plugin log a spurious "broker closed" error.
func (p *grpcPlugin) serveHost(host Host, timeout time.Duration) error {
	p.hostOnce.Do(func() {
		var err error
		defer func() { p.hostErr = err }()
		p.hostID = p.broker.NextId()
		ready := make(chan struct{})
		go p.broker.AcceptAndServe(p.hostID, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(append(opts, grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20))...)
			pb.RegisterHostServer(s, host)
			close(ready)
			return s
		})
		select {
		case <-ready:
		case <-time.After(timeout):
			err = fmt.Errorf("host transport not ready after %s", timeout)
		}
	})
	return p.hostErr
}

// hostBroker serves the host transport if it is not yet and returns its
// broker id for a call (0: this manager serves no host).
func (p *grpcPlugin) hostBroker() (uint32, error) {
	if p.host == nil {
		return 0, nil
	}
	if err := p.serveHost(p.host, p.hostTimeout); err != nil {
		return 0, err
	}
	return p.hostID, nil
}

func (p *grpcPlugin) describe(ctx context.Context) error {
	resp, err := p.client.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	return p.useDescribe(resp)
}

// useDescribe takes a Describe answer, the plugin's or the cache's.
func (p *grpcPlugin) useDescribe(resp *pb.DescribeResponse) error {
	s, err := schemaFromProto(resp.Schema)
	if err != nil {
		return err
	}
	if s.Name != p.vendor {
		return fmt.Errorf("binary for %q describes itself as %q", p.vendor, s.Name)
	}
	p.schema = s
	p.described = resp
	p.callStreamOK = advertises(resp, pb.Capability_CAPABILITY_CALL_STREAM)
	p.callSocketOK = advertises(resp, pb.Capability_CAPABILITY_CALL_SOCKET)
	p.reads = declaredReads(resp.Schema)
	return nil
}

func (p *grpcPlugin) Schema() *schema.Schema { return p.schema }

func mode(dryRun bool) pb.Mode {
	if dryRun {
		return pb.Mode_MODE_DRY_RUN
	}
	return pb.Mode_MODE_APPLY
}

func callMode(req *CallRequest) pb.Mode {
	if req.Reconcile {
		return pb.Mode_MODE_RECONCILE
	}
	return mode(req.DryRun)
}

func (p *grpcPlugin) Call(ctx context.Context, req *CallRequest) (*CallResult, error) {
	cctx, cancel := p.deadline(ctx)
	defer cancel()
	preq := &pb.CallRequest{
		Op: req.Op, ConnectionId: req.ConnectionID, ConnectionJson: req.Connection, ArgsJson: req.Args,
		Mode: callMode(req), StepId: req.StepID,
	}
	read := p.reads[req.Op]
	if read != nil && !req.Reconcile {
		result, answer := p.sendRead(cctx, read, req)
		if result != nil {
			return &CallResult{Result: result}, nil
		}
		preq.ReadAnswer = answer
	}
	var resp *pb.CallResponse
	var err error
	if p.socket != nil {
		resp, err = p.socket.call(cctx, preq)
	} else if preq.HostBrokerId, err = p.hostBroker(); err != nil {
		return nil, err
	} else if s := p.callStream(); s != nil {
		resp, err = s.call(cctx, preq)
	} else {
		resp, err = p.client.Call(cctx, preq)
	}
	if err != nil {
		return nil, p.transportError(ctx, cctx, req.Op, err)
	}
	out := &CallResult{Result: resp.ResultJson, Held: resp.Held, NotApplied: resp.NotApplied}
	if resp.Error != nil {
		out.Err = opErrorFromProto(resp.Error)
	} else if read != nil && resp.ReadSession != nil {
		p.readMu.Lock()
		p.readSessions[req.ConnectionID] = resp.ReadSession
		p.readMu.Unlock()
	}
	return out, nil
}

func (p *grpcPlugin) CloseConnection(ctx context.Context, req *CallRequest) error {
	p.readMu.Lock()
	delete(p.readSessions, req.ConnectionID)
	p.readMu.Unlock()
	cctx, cancel := p.deadline(ctx)
	defer cancel()
	preq := &pb.CloseConnectionRequest{
		ConnectionId: req.ConnectionID, ConnectionJson: req.Connection, Mode: mode(req.DryRun), StepId: req.StepID,
	}
	var err error
	if p.socket != nil {
		err = p.socket.closeConnection(cctx, preq)
	} else if preq.HostBrokerId, err = p.hostBroker(); err != nil {
		return err
	} else {
		_, err = p.client.CloseConnection(cctx, preq)
	}
	if err != nil {
		return p.transportError(ctx, cctx, "close_connection", err)
	}
	return nil
}

func (p *grpcPlugin) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.callTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.callTimeout)
}

// transportError tells a crash from a cancellation and from a plugin that
// missed its deadline. The last is killed: a plugin that does not answer
// in minutes is wedged, and the next call gets a fresh process.
func (p *grpcPlugin) transportError(ctx, cctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// gRPC can report the deadline (sent to the plugin as grpc-timeout) a
	// moment before cctx's own timer fires.
	if errors.Is(cctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
		if p.kill != nil {
			p.kill()
		}
		return fmt.Errorf("%w: tokenflow-plugin-%s did not answer %s within %s, so its process was killed; it will be restarted for the next call (a vendor that slow needs a longer plugin call timeout)",
			ErrTimeout, p.vendor, op, p.callTimeout)
	}
	// The gRPC error can arrive a moment before go-plugin notices the
	// process is gone; wait briefly so a crash is reported as one.
	for i := 0; p.exited != nil && i < 50; i++ {
		if serr := p.startErr.Load(); serr != nil {
			return fmt.Errorf("start plugin %s: %w; its process was killed", p.vendor, *serr)
		}
		if p.exited() {
			return fmt.Errorf("%w: tokenflow-plugin-%s exited during the call", ErrCrashed, p.vendor)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("plugin %s: %w", p.vendor, err)
}
