// Package sdktest runs a plugin's ops in-process, over the real gRPC
// contract, against a simulator (or any http.RoundTripper).
//
// New starts the plugin on an in-memory go-plugin connection and serves a
// minimal host transport on its broker that sends each request with the
// given RoundTripper and records it. Call runs one op the way the engine
// would (arguments as JSON, defaults applied from the schema) and returns
// the decoded result or the typed *sdk.Error.
//
// The harness is for testing one plugin's wire behaviour. Whole flows, with
// dry-run, cassettes and redaction, are tested through the engine.
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/tokenflow/tokenflow/sdk"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
)

// Exchange is one request the plugin sent, with the status it got.
type Exchange struct {
	Method, URL string
	Header      http.Header
	Body        []byte
	Session     bool
	Status      int
}

// Harness is a plugin running in-process.
type Harness struct {
	t      testing.TB
	plugin *sdk.Plugin
	client pb.PluginClient
	hostID uint32

	// DryRun makes Call send mode DRY_RUN and hold every non-GET request of
	// a write op that is not a session request, as the engine does.
	DryRun bool

	mu        sync.Mutex
	exchanges []Exchange
	effect    map[string]sdk.Effect
}

// New starts p in-process. Requests go to rt (for example the
// simulator's server Client().Transport).
func New(t testing.TB, p *sdk.Plugin, rt http.RoundTripper) *Harness {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("plugin declaration: %v", err)
	}
	h := &Harness{t: t, plugin: p, effect: map[string]sdk.Effect{}}
	for _, op := range p.Ops {
		h.effect[op.Name] = op.Effect
	}
	gp := &testPlugin{GRPCPlugin: sdk.GRPCPlugin{Impl: p}}
	client, server := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{pb.PluginName: gp})
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping it here as well would race with that.
	t.Cleanup(func() { client.Close() })
	_ = server
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	d := raw.(*dispensed)
	h.client = d.client
	h.hostID = d.broker.NextId()
	go d.broker.AcceptAndServe(h.hostID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pb.RegisterHostServer(s, &host{h: h, rt: rt})
		return s
	})
	return h
}

// testPlugin returns the broker with the client, which the harness needs
// to serve the host transport.
type testPlugin struct{ sdk.GRPCPlugin }

type dispensed struct {
	client pb.PluginClient
	broker *goplugin.GRPCBroker
}

func (p *testPlugin) GRPCClient(ctx context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &dispensed{client: pb.NewPluginClient(conn), broker: broker}, nil
}

// Held is returned by Call when a dry-run held one of the op's requests.
var Held = errors.New("held by dry-run")

// Call runs op with the connection and arguments (Go values that encode to
// the wire JSON: strings, numbers, bools, []any, map[string]any). It
// returns the result object, Held, or the plugin's *sdk.Error.
func (h *Harness) Call(op string, conn, args map[string]any) (map[string]any, error) {
	return h.CallConn("c1", op, conn, args)
}

// CallConn is Call on a named connection (sessions are per connection).
func (h *Harness) CallConn(connID, op string, conn, args map[string]any) (map[string]any, error) {
	h.t.Helper()
	o := h.op(op)
	if o == nil {
		return nil, fmt.Errorf("no op %q", op)
	}
	args = withDefaults(o.Params, args)
	conn = withDefaults(h.plugin.Connection, conn)
	cj, _ := json.Marshal(conn)
	aj, _ := json.Marshal(args)
	mode := pb.Mode_MODE_APPLY
	if h.DryRun {
		mode = pb.Mode_MODE_DRY_RUN
	}
	resp, err := h.client.Call(context.Background(), &pb.CallRequest{
		Op: op, ConnectionId: connID, ConnectionJson: cj, ArgsJson: aj, Mode: mode, StepId: op, HostBrokerId: h.hostID,
	})
	if err != nil {
		return nil, fmt.Errorf("call transport: %w", err)
	}
	if resp.Held {
		return nil, Held
	}
	if resp.Error != nil {
		return nil, &sdk.Error{Code: codeOf(resp.Error.Code), Message: resp.Error.Message, Retryable: resp.Error.Retryable,
			RetryAfter: time.Duration(resp.Error.RetryAfterMs) * time.Millisecond, Param: resp.Error.Param}
	}
	out := map[string]any{}
	if len(resp.ResultJson) > 0 {
		dec := json.NewDecoder(bytes.NewReader(resp.ResultJson))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("result is not a JSON object: %v", err)
		}
	}
	return out, nil
}

// Close ends a connection's session (CloseSession).
func (h *Harness) Close(connID string, conn map[string]any) error {
	cj, _ := json.Marshal(withDefaults(h.plugin.Connection, conn))
	_, err := h.client.CloseConnection(context.Background(), &pb.CloseConnectionRequest{ConnectionId: connID, ConnectionJson: cj, StepId: "close_session", HostBrokerId: h.hostID})
	return err
}

// Exchanges returns what the plugin sent so far.
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

func (h *Harness) op(name string) *sdk.Op {
	for i := range h.plugin.Ops {
		if h.plugin.Ops[i].Name == name {
			return &h.plugin.Ops[i]
		}
	}
	return nil
}

func withDefaults(fields []sdk.Field, v map[string]any) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		out[k] = x
	}
	for _, f := range fields {
		if _, ok := out[f.Name]; !ok && f.Default != nil {
			out[f.Name] = f.Default
		}
	}
	return out
}

func codeOf(c pb.ErrorCode) sdk.Code {
	switch c {
	case pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT:
		return sdk.CodeInvalidArgument
	case pb.ErrorCode_ERROR_CODE_UNAUTHENTICATED:
		return sdk.CodeUnauthenticated
	case pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED:
		return sdk.CodePermissionDenied
	case pb.ErrorCode_ERROR_CODE_NOT_FOUND:
		return sdk.CodeNotFound
	case pb.ErrorCode_ERROR_CODE_CONFLICT:
		return sdk.CodeConflict
	case pb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return sdk.CodeRateLimited
	case pb.ErrorCode_ERROR_CODE_UNAVAILABLE:
		return sdk.CodeUnavailable
	}
	return sdk.CodeInternal
}

// host is the harness's host transport.
type host struct {
	pb.UnimplementedHostServer
	h  *Harness
	rt http.RoundTripper
}

func (s *host) RoundTrip(stream pb.Host_RoundTripServer) error {
	var sendMu sync.Mutex
	for {
		req, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		go func() {
			resp := s.do(stream.Context(), req)
			resp.Id = req.Id
			sendMu.Lock()
			defer sendMu.Unlock()
			stream.Send(resp)
		}()
	}
}

func (s *host) do(ctx context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	header := http.Header{}
	for _, hd := range req.Headers {
		header[http.CanonicalHeaderKey(hd.Name)] = hd.Values
	}
	ex := Exchange{Method: req.Method, URL: req.Url, Header: header, Body: req.Body, Session: req.Session}
	s.h.mu.Lock()
	write := s.h.effect[req.StepId] == sdk.Write
	dry := s.h.DryRun
	s.h.mu.Unlock()
	if dry && write && !req.Session && req.Method != http.MethodGet && req.Method != http.MethodHead {
		s.record(ex)
		return &pb.HTTPResponse{Held: true}
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.Url, bytes.NewReader(req.Body))
	if err != nil {
		return &pb.HTTPResponse{Error: &pb.Error{Code: pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Message: err.Error()}}
	}
	hreq.Header = header
	resp, err := s.rt.RoundTrip(hreq)
	if err != nil {
		s.record(ex)
		return &pb.HTTPResponse{Error: &pb.Error{Code: pb.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: err.Error()}}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ex.Status = resp.StatusCode
	s.record(ex)
	out := &pb.HTTPResponse{Status: int32(resp.StatusCode), Body: body}
	for name, values := range resp.Header {
		out.Headers = append(out.Headers, &pb.Header{Name: name, Values: values})
	}
	return out
}

func (s *host) record(ex Exchange) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.exchanges = append(s.h.exchanges, ex)
}
