// Package sdktest runs a plugin's ops in-process, over the real gRPC
// contract and through the engine's own host transport, against a
// simulator (or any http.RoundTripper).
//
// New starts the plugin on an in-memory go-plugin connection and serves it
// engine/hostnet's Transport: the same code the engine runs, not a copy. So
// a plugin under test meets the rules it meets in a run: the connection's
// allowlist (url and its endpoint fields), the response size limit, the
// method-aware retry policy, the dry-run hold and answers in order. Only the
// last hop differs: requests leave through the given RoundTripper.
//
// Call runs one op the way the engine would (arguments as JSON, defaults
// from the schema), checks the result against the op's declared result
// types with the engine's own check, and returns it as plain Go values
// (strings, bool, int64, float64, []any, map[string]any; see Call), or the
// typed *sdk.Error. Reconcile asks an op whether an earlier call took
// effect. Conformance checks what every plugin must honour.
//
// Whole flows, with cassettes and redaction, are tested through the engine.
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/internal/testhook"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
)

// Exchange is one request the plugin asked the host to send, with what
// became of it.
type Exchange struct {
	Method, URL string
	Header      http.Header
	Body        []byte
	Session     bool
	Status      int // the vendor's status; 0 when not sent
	// Held: a dry-run kept the request back, as the engine does.
	Held bool
	// Error is the host's refusal or the network failure ("" when the
	// vendor answered), e.g. a host outside the connection's allowlist.
	Error string
}

// Sent reports whether the request reached the vendor.
func (e Exchange) Sent() bool { return !e.Held && e.Error == "" }

// Harness is a plugin running in-process.
type Harness struct {
	t testing.TB
	// plugin is where calls go: the engine's own interface, over the
	// in-process connection (New) or a process the engine's plugin manager
	// launched (NewBinary).
	plugin    pluginmgr.Plugin
	schema    *schema.Schema
	rt        http.RoundTripper
	transport *hostnet.Transport

	// DryRun makes Call send mode DRY_RUN: the transport holds every
	// non-GET request of a write op that is not a session request, and any
	// request carrying a value known only after apply.
	DryRun bool

	mu        sync.Mutex
	exchanges []Exchange
	conns     map[string]*hostnet.Conn
	connKey   map[string]string
	steps     int
}

// New starts p in-process. Requests go to rt (for example the
// simulator's server Client().Transport) once the engine's host transport
// has let them through.
func New(t testing.TB, p *sdk.Plugin, rt http.RoundTripper) *Harness {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("plugin declaration: %v", err)
	}
	h := newHarness(t, rt)
	gp := &testPlugin{server: testhook.NewGRPCPlugin(p)}
	client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{pb.PluginName: gp})
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping the server here as well would race with that.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	d := raw.(*dispensed)
	desc, err := d.client.Describe(context.Background(), &pb.DescribeRequest{})
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	h.schema = schemaFromProto(desc.Schema)
	ip := &inProcess{client: d.client, hostID: d.broker.NextId(), schema: h.schema}
	go d.broker.AcceptAndServe(ip.hostID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pb.RegisterHostServer(s, &host{h: h})
		return s
	})
	h.plugin = ip
	return h
}

// newHarness is the part of a Harness that does not depend on where the
// plugin runs.
func newHarness(t testing.TB, rt http.RoundTripper) *Harness {
	h := &Harness{t: t, rt: rt, conns: map[string]*hostnet.Conn{}, connKey: map[string]string{}}
	h.transport = hostnet.New(hostnet.Options{Redactor: redact.New()})
	t.Cleanup(h.transport.Close)
	return h
}

// inProcess is pluginmgr.Plugin over the in-memory connection.
type inProcess struct {
	client pb.PluginClient
	hostID uint32
	schema *schema.Schema
}

func (p *inProcess) Schema() *schema.Schema { return p.schema }

func (p *inProcess) Call(ctx context.Context, req *pluginmgr.CallRequest) (*pluginmgr.CallResult, error) {
	mode := pb.Mode_MODE_APPLY
	switch {
	case req.Reconcile:
		mode = pb.Mode_MODE_RECONCILE
	case req.DryRun:
		mode = pb.Mode_MODE_DRY_RUN
	}
	resp, err := p.client.Call(ctx, &pb.CallRequest{Op: req.Op, ConnectionId: req.ConnectionID, ConnectionJson: req.Connection,
		ArgsJson: req.Args, Mode: mode, StepId: req.StepID, HostBrokerId: p.hostID})
	if err != nil {
		return nil, err
	}
	out := &pluginmgr.CallResult{Result: resp.ResultJson, Held: resp.Held, NotApplied: resp.NotApplied}
	if e := resp.Error; e != nil {
		out.Err = &pluginmgr.OpError{Code: pluginmgr.ErrorCodeName(e.Code), Message: e.Message, Retryable: e.Retryable,
			RetryAfter: time.Duration(e.RetryAfterMs) * time.Millisecond, Param: e.Param}
	}
	return out, nil
}

func (p *inProcess) CloseConnection(ctx context.Context, req *pluginmgr.CallRequest) error {
	_, err := p.client.CloseConnection(ctx, &pb.CloseConnectionRequest{ConnectionId: req.ConnectionID,
		ConnectionJson: req.Connection, StepId: req.StepID, HostBrokerId: p.hostID})
	return err
}

// testPlugin serves the plugin through the SDK's own adapter and returns
// the broker with the client, which the harness needs to serve the host
// transport.
type testPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server goplugin.GRPCPlugin
}

func (p *testPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	return p.server.GRPCServer(broker, s)
}

type dispensed struct {
	client pb.PluginClient
	broker *goplugin.GRPCBroker
}

func (p *testPlugin) GRPCClient(ctx context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &dispensed{client: pb.NewPluginClient(conn), broker: broker}, nil
}

// Held is returned by Call when a dry-run held one of the op's requests.
var Held = errors.New("held by dry-run")

// callTimeout bounds one call, so a plugin that hangs fails its test.
const callTimeout = 2 * time.Minute

// Call runs op with the connection and arguments (Go values that encode to
// the wire JSON: strings, numbers, bools, []any, map[string]any). It
// returns the result object, Held, or the plugin's *sdk.Error.
//
// Result values are plain Go values: a field declared int is an int64, one
// declared float a float64, timestamps and durations their wire strings;
// numbers in undeclared fields and inside lists and objects are int64 when
// integral and float64 otherwise. A result that does not match the op's
// declared types is an error, as it is in the engine.
func (h *Harness) Call(op string, conn, args map[string]any) (map[string]any, error) {
	return h.CallConn("c1", op, conn, args)
}

// CallConn is Call on a named connection (sessions are per connection).
func (h *Harness) CallConn(connID, op string, conn, args map[string]any) (map[string]any, error) {
	h.t.Helper()
	resp, o, err := h.call(connID, op, conn, args, h.DryRun, false)
	if err != nil {
		return nil, err
	}
	if resp.Held {
		return nil, Held
	}
	return h.result(o, resp)
}

// Reconcile asks op whether an earlier call with these arguments took
// effect, as the engine does when it resumes a run that died while the
// call was in flight (mode RECONCILE). It returns the result the op would
// have returned and true when it did, false when it did not; an op that
// declares no Reconcile answers with an error.
func (h *Harness) Reconcile(op string, conn, args map[string]any) (map[string]any, bool, error) {
	h.t.Helper()
	resp, o, err := h.call("c1", op, conn, args, false, true)
	if err != nil {
		return nil, false, err
	}
	if resp.NotApplied {
		return nil, false, nil
	}
	out, err := h.result(o, resp)
	return out, err == nil, err
}

func (h *Harness) call(connID, op string, conn, args map[string]any, dry, reconcile bool) (*pluginmgr.CallResult, *schema.Op, error) {
	o := h.schema.Op(op)
	if o == nil {
		return nil, nil, fmt.Errorf("no op %q (have %v)", op, h.schema.OpNames())
	}
	args = withDefaults(o.Params, args)
	conn = withDefaults(h.schema.Connection, conn)
	nc, err := h.conn(connID, conn)
	if err != nil {
		return nil, nil, err
	}
	cj, err := json.Marshal(conn)
	if err != nil {
		return nil, nil, fmt.Errorf("connection fields: %w", err)
	}
	aj, err := json.Marshal(args)
	if err != nil {
		return nil, nil, fmt.Errorf("arguments of %s: %w", op, err)
	}
	stepID := h.begin(op, o.Effect == schema.Write, dry, nc)
	defer h.transport.End(stepID)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := h.plugin.Call(ctx, &pluginmgr.CallRequest{
		Op: op, ConnectionID: connID, Connection: cj, Args: aj, DryRun: dry, Reconcile: reconcile, StepID: stepID,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("call transport: %w", err)
	}
	if resp.Err != nil {
		return nil, nil, sdkError(resp.Err)
	}
	return resp, o, nil
}

// begin registers a step with the transport, the way the engine does
// before each Call; the returned id is what the plugin's requests carry.
func (h *Harness) begin(op string, write, dry bool, nc *hostnet.Conn) string {
	h.mu.Lock()
	h.steps++
	id := fmt.Sprintf("%s.%d", op, h.steps)
	h.mu.Unlock()
	s := &hostnet.Step{ID: id, Call: h.schema.Name + "." + op, Write: write, DryRun: dry, Conn: nc}
	if dry {
		// The plan itself is the engine's business; the harness keeps
		// what was held in its exchanges.
		s.Plan, s.PlanStep = plan.New(), id
	}
	h.transport.Begin(s)
	return id
}

// conn returns the network policy of a connection: what url and the
// endpoint fields allow, as connect() builds it in the engine.
func (h *Harness) conn(connID string, conn map[string]any) (*hostnet.Conn, error) {
	rawURL, _ := conn["url"].(string)
	var extra []string
	for _, f := range h.schema.Connection {
		if e, ok := conn[f.Name].(string); ok && f.Endpoint && e != "" {
			extra = append(extra, e)
		}
	}
	key := fmt.Sprint(rawURL, extra)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.conns[connID]; ok && h.connKey[connID] == key {
		return c, nil
	}
	c, err := hostnet.NewConn(connID, h.schema.Name, rawURL, "", false, extra...)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", connID, err)
	}
	c.RoundTripper = h.rt
	h.conns[connID], h.connKey[connID] = c, key
	return c, nil
}

// Close ends a connection's session (CloseSession).
func (h *Harness) Close(connID string, conn map[string]any) error {
	conn = withDefaults(h.schema.Connection, conn)
	nc, err := h.conn(connID, conn)
	if err != nil {
		return err
	}
	cj, err := json.Marshal(conn)
	if err != nil {
		return err
	}
	stepID := h.begin("close_session", false, false, nc)
	defer h.transport.End(stepID)
	return h.plugin.CloseConnection(context.Background(), &pluginmgr.CallRequest{ConnectionID: connID, Connection: cj, StepID: stepID})
}

// Exchanges returns what the plugin asked to send so far.
func (h *Harness) Exchanges() []Exchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Exchange(nil), h.exchanges...)
}

// Reset forgets recorded exchanges.
func (h *Harness) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exchanges = nil
}
