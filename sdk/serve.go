package sdk

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/tokenflow/tokenflow/sdk/internal/testhook"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"github.com/tokenflow/tokenflow/sdk/simkit"
	"google.golang.org/grpc"
)

// ServeOption configures Serve. Options keep Serve's signature frozen for
// third-party plugins as the SDK grows.
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger    hclog.Logger
	simulator *simkit.Registration // WithSimulator (simulate.go)
	tuned     bool                 // WithRuntimeTuning
}

// WithRuntimeTuning runs the plugin on one OS thread (GOMAXPROCS 1) and
// collects garbage at 4x the live heap. A plugin does little computing and
// a lot of waiting on two sockets: one P keeps the hand-offs between its
// goroutines on one thread instead of waking another for each message, and
// its heap is small and short-lived, so collecting less often halves the
// collector's share of a bulk listing's CPU (plugins inherit no
// environment, so GOGC cannot be set for them). The in-tree plugins use it;
// it is a choice, not a default, because it changes the whole process.
func WithRuntimeTuning() ServeOption { return func(c *serveConfig) { c.tuned = true } }

// WithLogger replaces the default logger (JSON to stderr, which go-plugin
// forwards to the engine's log after redaction).
func WithLogger(l hclog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// Serve runs the plugin until the engine stops it. It never returns on
// success; a plugin declaration error is printed and exits 1.
func Serve(p *Plugin, opts ...ServeOption) {
	cfg := serveConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if code, ok := maybeSimulate(p.Name, &cfg); ok {
		os.Exit(code)
	}
	if cfg.logger == nil {
		cfg.logger = hclog.New(&hclog.LoggerOptions{Name: p.Name, Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	if cfg.tuned {
		runtime.GOMAXPROCS(1)
		debug.SetGCPercent(400)
	}
	if err := p.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "tokenflow-plugin-%s: %v\n", p.Name, err)
		os.Exit(1)
	}
	go exitWithParent(cfg.logger)
	sc := &goplugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         goplugin.PluginSet{pb.PluginName: &grpcPlugin{impl: p, logger: cfg.logger}},
		GRPCServer:      grpcServer,
		Logger:          cfg.logger,
	}
	// An engine that hands over channel credentials gets mutual TLS with
	// them; an older engine gets go-plugin's AutoMTLS, as before.
	if os.Getenv(pb.EnvChannelFD) != "" {
		tlsCfg, err := readChannel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "tokenflow-plugin-%s: %v\n", p.Name, err)
			os.Exit(1)
		}
		sc.TLSProvider = func() (*tls.Config, error) { return tlsCfg, nil }
	}
	socket, err := openCallSocket()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokenflow-plugin-%s: %v\n", p.Name, err)
		os.Exit(1)
	}
	if socket != nil {
		// Served at once, not after go-plugin's handshake: an engine that
		// knows this binary (its cached Describe) sends the first call as
		// soon as the process exists, and the handshake finishes beside it.
		srv := newServer(p, cfg.logger)
		sc.Plugins[pb.PluginName].(*grpcPlugin).srv = srv
		go srv.serveSocket(socket)
	}
	goplugin.Serve(sc)
}

// readChannel reads the credentials the engine left on the inherited
// descriptor named by pb.EnvChannelFD.
func readChannel() (*tls.Config, error) {
	fd, err := strconv.Atoi(os.Getenv(pb.EnvChannelFD))
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a descriptor the engine passes; start plugins through tokenflow", pb.EnvChannelFD, os.Getenv(pb.EnvChannelFD))
	}
	f := os.NewFile(uintptr(fd), "channel")
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read channel credentials from descriptor %d: %w", fd, err)
	}
	return pb.DecodeChannel(data)
}

// handshake is the go-plugin handshake every tokenflow plugin uses.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  pb.ProtocolVersion,
	MagicCookieKey:   pb.MagicCookieKey,
	MagicCookieValue: pb.MagicCookieValue,
}

// grpcPlugin adapts a Plugin to go-plugin. Serve uses it; sdktest reaches
// it through sdk/internal/testhook to run a plugin in-process. Plugin
// authors never see go-plugin or gRPC types.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl   *Plugin
	logger hclog.Logger
	// srv is the server already serving the call socket (nil: none); the
	// gRPC services share it, and its sessions.
	srv *server
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)

func init() {
	testhook.NewGRPCPlugin = func(p any) goplugin.GRPCPlugin { return &grpcPlugin{impl: p.(*Plugin)} }
}

// GRPCServer registers the plugin service.
func (g *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	logger := g.logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	srv := g.srv
	if srv == nil {
		srv = newServer(g.impl, logger)
	}
	srv.host = &hostConn{dial: broker.Dial}
	pb.RegisterPluginServer(s, srv)
	return nil
}

// GRPCClient is the engine's half; the SDK only serves.
func (g *grpcPlugin) GRPCClient(ctx context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(conn), nil
}

type server struct {
	pb.UnimplementedPluginServer
	plugin *Plugin
	logger hclog.Logger
	// host carries exchanges of gRPC calls through the broker; set when
	// go-plugin registers the services (calls on the call socket do not
	// use it).
	host *hostConn

	mu       sync.Mutex
	sessions map[string]*Session
	reads    map[string][]*pb.Field // result fields of ops declared with Get (readResults)
}

func newServer(p *Plugin, logger hclog.Logger) *server {
	return &server{plugin: p, logger: logger, sessions: map[string]*Session{}, reads: map[string][]*pb.Field{}}
}

func (s *server) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	schema, err := schemaToProto(s.plugin)
	if err != nil {
		return nil, err
	}
	return &pb.DescribeResponse{Schema: schema, Capabilities: capabilities}, nil
}

func (s *server) session(connID string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[connID]
	if sess == nil {
		sess = &Session{}
		s.sessions[connID] = sess
	}
	return sess
}

func (s *server) newCall(op, connID string, connJSON, argsJSON []byte, mode pb.Mode, stepID string, host exchanger) (*Call, error) {
	conn, err := decodeValues(connJSON)
	if err != nil {
		return nil, InvalidArgument("connection", "%v", err)
	}
	args, err := decodeValues(argsJSON)
	if err != nil {
		return nil, InvalidArgument("args", "%v", err)
	}
	return &Call{
		Op:      op,
		Conn:    conn,
		Args:    args,
		DryRun:  mode == pb.Mode_MODE_DRY_RUN,
		HTTP:    &http.Client{Transport: &callTransport{host: host, stepID: stepID}},
		Logger:  s.logger.With("op", op, "step", stepID),
		session: s.session(connID),
	}, nil
}

// broker returns the host stream a gRPC call names, opening it in the
// background (see hostConn.warm).
func (s *server) broker(brokerID uint32) exchanger {
	s.host.warm(brokerID)
	return brokerHost{conn: s.host, brokerID: brokerID}
}

// Call runs one op for a unary Call or the Calls stream; its exchanges go
// through the broker the request names.
func (s *server) Call(ctx context.Context, req *pb.CallRequest) (*pb.CallResponse, error) {
	return s.call(ctx, req, s.broker(req.HostBrokerId)), nil
}

// call runs one op; every failure is reported in the response.
func (s *server) call(ctx context.Context, req *pb.CallRequest, host exchanger) (resp *pb.CallResponse) {
	op := s.plugin.op(req.Op)
	if op == nil {
		return &pb.CallResponse{Error: errorToProto(InvalidArgument("", "unknown op %q", req.Op))}
	}
	call, err := s.newCall(req.Op, req.ConnectionId, req.ConnectionJson, req.ArgsJson, req.Mode, req.StepId, host)
	if err != nil {
		return &pb.CallResponse{Error: errorToProto(err)}
	}
	if err := checkArgs(op.Params, call.Args); err != nil {
		return &pb.CallResponse{Error: errorToProto(err)}
	}
	// A handler's panic is its own bug; report it on this call rather than
	// killing the process and every session it holds.
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("handler panicked", "op", req.Op, "panic", fmt.Sprint(r))
			resp = &pb.CallResponse{Error: errorToProto(Errorf(CodeInternal, "plugin panicked in %s: %v", req.Op, r))}
		}
	}()
	if req.Mode == pb.Mode_MODE_RECONCILE {
		if op.Reconcile == nil {
			return &pb.CallResponse{Error: errorToProto(Errorf(CodeInternal, "op %s cannot reconcile an unknown outcome", req.Op))}
		}
		result, applied, err := op.Reconcile(ctx, call)
		if err != nil {
			return &pb.CallResponse{Error: errorToProto(err)}
		}
		if !applied {
			return &pb.CallResponse{NotApplied: true}
		}
		b, err := marshalResult(result)
		if err != nil {
			return &pb.CallResponse{Error: errorToProto(Errorf(CodeInternal, "encode result of %s: %v", req.Op, err))}
		}
		return &pb.CallResponse{ResultJson: b}
	}
	if op.Get != "" {
		result, session, err := s.read(ctx, call, op, req.ArgsJson, req.ReadAnswer)
		if err != nil {
			return failed(err)
		}
		return &pb.CallResponse{ResultJson: result, ReadSession: session}
	}
	result, err := op.Handler(ctx, call)
	if err != nil {
		return failed(err)
	}
	b, err := marshalResult(result)
	if err != nil {
		return &pb.CallResponse{Error: errorToProto(Errorf(CodeInternal, "encode result of %s: %v", req.Op, err))}
	}
	return &pb.CallResponse{ResultJson: b}
}

// failed answers a call whose op failed, or was held by a dry-run.
func failed(err error) *pb.CallResponse {
	if IsHeld(err) {
		return &pb.CallResponse{Held: true}
	}
	return &pb.CallResponse{Error: errorToProto(err)}
}

func (s *server) CloseConnection(ctx context.Context, req *pb.CloseConnectionRequest) (*pb.CloseConnectionResponse, error) {
	return &pb.CloseConnectionResponse{}, s.closeConnection(ctx, req, s.broker(req.HostBrokerId))
}

// closeConnection ends the connection's session, if the plugin holds one.
// A failed logout is logged, not returned: the session is gone either way.
func (s *server) closeConnection(ctx context.Context, req *pb.CloseConnectionRequest, host exchanger) error {
	s.mu.Lock()
	sess := s.sessions[req.ConnectionId]
	delete(s.sessions, req.ConnectionId)
	s.mu.Unlock()
	if sess == nil || s.plugin.CloseSession == nil {
		return nil
	}
	call, err := s.newCall("close_session", req.ConnectionId, req.ConnectionJson, nil, req.Mode, req.StepId, host)
	if err != nil {
		return err
	}
	call.session = sess
	if err := s.plugin.CloseSession(ctx, call); err != nil {
		s.logger.Warn("closing session failed", "error", err)
	}
	return nil
}

func schemaToProto(p *Plugin) (*pb.Schema, error) {
	conn, err := fieldsToProto(p.Connection)
	if err != nil {
		return nil, err
	}
	out := &pb.Schema{ProtocolVersion: pb.ProtocolVersion, Name: p.Name, Version: p.Version, Doc: p.Doc, Connection: conn}
	for _, op := range p.Ops {
		params, err := fieldsToProto(op.Params)
		if err != nil {
			return nil, err
		}
		results, err := fieldsToProto(op.Results)
		if err != nil {
			return nil, err
		}
		effect := pb.Effect_EFFECT_READ
		if op.Effect == Write {
			effect = pb.Effect_EFFECT_WRITE
		}
		out.Ops = append(out.Ops, &pb.Op{Name: op.Name, Doc: op.Doc, Effect: effect, Params: params, Results: results, Reconcilable: op.Reconcile != nil, Get: op.Get})
	}
	return out, nil
}

func fieldsToProto(fields []Field) ([]*pb.Field, error) {
	var out []*pb.Field
	for _, f := range fields {
		pf := &pb.Field{Name: f.Name, Type: pb.Type(f.Type), Elem: pb.Type(f.Elem), Required: f.Required, Secret: f.IsSecret(), Doc: f.Doc, Endpoint: f.Endpoint, Wire: f.Wire}
		if f.Default != nil {
			b, err := json.Marshal(f.Default)
			if err != nil {
				return nil, fmt.Errorf("default of %s: %w", f.Name, err)
			}
			pf.DefaultJson = string(b)
		}
		out = append(out, pf)
	}
	return out, nil
}

// grpcServer is go-plugin's default server with static flow-control
// windows: gRPC's BDP estimation pings cost more than they save on a local
// socket carrying small messages.
func grpcServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20))...)
}

// exitWithParent ends the plugin when the engine that launched it is gone
// (killed with SIGKILL, say), so no plugin outlives its engine.
func exitWithParent(logger hclog.Logger) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			logger.Warn("engine exited; plugin stopping")
			os.Exit(2)
		}
	}
}
