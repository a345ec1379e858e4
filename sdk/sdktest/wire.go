package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/sdk"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// host serves the plugin's request stream with the engine's transport,
// watching the stream to keep the harness's record of exchanges.
type host struct {
	pb.UnimplementedHostServer
	h *Harness
}

func (s *host) RoundTrip(stream pb.Host_RoundTripServer) error {
	return s.h.transport.RoundTrip(&watched{Host_RoundTripServer: stream, h: s.h, reqs: map[uint64]*pb.HTTPRequest{}})
}

// Do answers one exchange from the call socket and records it.
func (s *host) Do(ctx context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	resp := s.h.transport.Do(ctx, req)
	s.h.record(req, resp)
	return resp
}

func (s *host) Serial() bool { return s.h.transport.Serial() }

// watched pairs each request with its answer as the transport sends it.
type watched struct {
	pb.Host_RoundTripServer
	h    *Harness
	mu   sync.Mutex
	reqs map[uint64]*pb.HTTPRequest
}

func (w *watched) Recv() (*pb.HTTPRequest, error) {
	req, err := w.Host_RoundTripServer.Recv()
	if err == nil {
		w.mu.Lock()
		w.reqs[req.Id] = req
		w.mu.Unlock()
	}
	return req, err
}

func (w *watched) Send(resp *pb.HTTPResponse) error {
	w.mu.Lock()
	req := w.reqs[resp.Id]
	delete(w.reqs, resp.Id)
	w.mu.Unlock()
	if req != nil {
		w.h.record(req, resp)
	}
	return w.Host_RoundTripServer.Send(resp)
}

// record keeps an exchange for the harness's checks.
func (h *Harness) record(req *pb.HTTPRequest, resp *pb.HTTPResponse) {
	header := http.Header{}
	for _, hd := range req.Headers {
		header[http.CanonicalHeaderKey(hd.Name)] = hd.Values
	}
	ex := Exchange{Method: req.Method, URL: req.Url, Header: header, Body: req.Body, Session: req.Session,
		Status: int(resp.Status), Held: resp.Held}
	if resp.Error != nil {
		ex.Error = resp.Error.Message
	}
	h.mu.Lock()
	h.exchanges = append(h.exchanges, ex)
	h.mu.Unlock()
}

// schemaFromProto is the engine's view of what the plugin declared.
func schemaFromProto(s *pb.Schema) *schema.Schema {
	out := &schema.Schema{Name: s.GetName(), Version: s.GetVersion(), Doc: s.GetDoc(), Connection: fieldsFromProto(s.GetConnection())}
	for _, op := range s.GetOps() {
		effect := schema.Read
		if op.Effect == pb.Effect_EFFECT_WRITE {
			effect = schema.Write
		}
		out.Ops = append(out.Ops, &schema.Op{Vendor: s.Name, Name: op.Name, Doc: op.Doc, Effect: effect,
			Params: fieldsFromProto(op.Params), Results: fieldsFromProto(op.Results), Reconcilable: op.Reconcilable})
	}
	return out
}

func fieldsFromProto(fields []*pb.Field) []schema.Field {
	out := make([]schema.Field, 0, len(fields))
	for _, f := range fields {
		out = append(out, schema.Field{Name: f.Name, Type: schema.Type(f.Type), Elem: schema.Type(f.Elem), Required: f.Required,
			DefaultJSON: f.DefaultJson, Secret: f.Secret || f.Type == pb.Type_TYPE_SECRET, Doc: f.Doc, Endpoint: f.Endpoint})
	}
	return out
}

// withDefaults applies the declared defaults, as the engine does before a
// Call.
func withDefaults(fields []schema.Field, v map[string]any) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		out[k] = x
	}
	for _, f := range fields {
		if _, ok := out[f.Name]; !ok && f.DefaultJSON != "" {
			var d any
			if json.Unmarshal([]byte(f.DefaultJSON), &d) == nil && d != nil {
				out[f.Name] = d
			}
		}
	}
	return out
}

var codes = map[pb.ErrorCode]sdk.Code{
	pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT:  sdk.CodeInvalidArgument,
	pb.ErrorCode_ERROR_CODE_UNAUTHENTICATED:   sdk.CodeUnauthenticated,
	pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED: sdk.CodePermissionDenied,
	pb.ErrorCode_ERROR_CODE_NOT_FOUND:         sdk.CodeNotFound,
	pb.ErrorCode_ERROR_CODE_CONFLICT:          sdk.CodeConflict,
	pb.ErrorCode_ERROR_CODE_RATE_LIMITED:      sdk.CodeRateLimited,
	pb.ErrorCode_ERROR_CODE_UNAVAILABLE:       sdk.CodeUnavailable,
	pb.ErrorCode_ERROR_CODE_INTERNAL:          sdk.CodeInternal,
}

// sdkError is the engine's view of a typed error as the SDK's type.
func sdkError(e *pluginmgr.OpError) *sdk.Error {
	code := sdk.CodeInternal
	for pc, c := range codes {
		if pluginmgr.ErrorCodeName(pc) == e.Code {
			code = c
		}
	}
	return &sdk.Error{Code: code, Message: e.Message, Retryable: e.Retryable, RetryAfter: e.RetryAfter, Param: e.Param}
}

// result decodes a result object, holds it to the op's declared types with
// the engine's check, and turns its numbers into int64 or float64.
func (h *Harness) result(o *schema.Op, resp *pluginmgr.CallResult) (map[string]any, error) {
	out := map[string]any{}
	if b := bytes.TrimSpace(resp.Result); len(b) > 0 && !bytes.Equal(b, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("%s.%s: result is not a JSON object: %v", h.schema.Name, o.Name, err)
		}
	}
	if err := schema.CheckResult(out, o.Results); err != nil {
		return nil, fmt.Errorf("%s.%s returned a result that does not match its schema: %w", h.schema.Name, o.Name, err)
	}
	for k, v := range out {
		want := schema.Type(0)
		if f := schema.FieldNamed(o.Results, k); f != nil {
			want = f.Type
		}
		out[k] = plain(v, want)
	}
	return out, nil
}

// plain replaces json.Number: a declared float stays float64 even when
// integral, everything else is int64 when integral.
func plain(v any, want schema.Type) any {
	switch x := v.(type) {
	case json.Number:
		if want != schema.Float {
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return n
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plain(x[i], 0)
		}
	case map[string]any:
		for k := range x {
			x[k] = plain(x[k], 0)
		}
	}
	return v
}
