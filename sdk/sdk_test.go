package sdk

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func handler(context.Context, *Call) (any, error) { return nil, nil }

func TestValidate(t *testing.T) {
	good := func() *Plugin {
		return &Plugin{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}},
			Ops: []Op{{Name: "get_thing", Effect: Read, Handler: handler}}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mutate := range map[string]func(p *Plugin){
		"want lower snake_case":         func(p *Plugin) { p.Name = "Acme" },
		`must declare a "url" field`:    func(p *Plugin) { p.Connection = nil },
		"reserved for the engine":       func(p *Plugin) { p.Connection = append(p.Connection, Field{Name: "insecure", Type: Bool}) },
		"declared twice":                func(p *Plugin) { p.Ops = append(p.Ops, p.Ops[0]) },
		"has no handler":                func(p *Plugin) { p.Ops[0].Handler = nil },
		"effect must be sdk.Read":       func(p *Plugin) { p.Ops[0].Effect = 0 },
		"has no type":                   func(p *Plugin) { p.Ops[0].Params = []Field{{Name: "x"}} },
		"is required and has a default": func(p *Plugin) { p.Ops[0].Params = []Field{{Name: "x", Type: Int, Required: true, Default: 1}} },
		`op name "getThing"`:            func(p *Plugin) { p.Ops[0].Name = "getThing" },
	} {
		p := good()
		mutate(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
}

func TestValidateGet(t *testing.T) {
	good := func() *Plugin {
		return &Plugin{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}},
			Ops: []Op{{Name: "get_thing", Effect: Read, Get: "/things/{id}",
				Params:  []Field{{Name: "id", Type: String, Required: true}},
				Results: []Field{{Name: "display_name", Type: String, Wire: "displayName"}}}}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mutate := range map[string]func(p *Plugin){
		"both Get and a Handler":             func(p *Plugin) { p.Ops[0].Handler = handler },
		"a write needs a Handler":            func(p *Plugin) { p.Ops[0].Effect = Write },
		"nothing to reconcile":               func(p *Plugin) { p.Ops[0].Reconcile = Resend },
		"parameter id is not in the path":    func(p *Plugin) { p.Ops[0].Get = "/things" },
		"{other} names no parameter":         func(p *Plugin) { p.Ops[0].Get = "/things/{id}/{other}" },
		"must not go in a URL":               func(p *Plugin) { p.Ops[0].Params[0].Type = Secret },
		"cannot go in Get's path":            func(p *Plugin) { p.Ops[0].Params[0].Type = List },
		"needs Required or a Default":        func(p *Plugin) { p.Ops[0].Params[0].Required = false },
		"which only an op declared with Get": func(p *Plugin) { p.Ops[0].Get, p.Ops[0].Params, p.Ops[0].Handler = "", nil, handler },
	} {
		p := good()
		mutate(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
}

func TestFromResponse(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   Code
		msg    string
	}{
		{400, `{"message":"clientId is required"}`, CodeInvalidArgument, "clientId is required"},
		{401, `{}`, CodeUnauthenticated, "Unauthorized"},
		{403, `{"errorMessage":"no privilege"}`, CodePermissionDenied, "no privilege"},
		{404, "not here\nmore", CodeNotFound, "not here"},
		{409, `{"error":"exists"}`, CodeConflict, "exists"},
		{429, ``, CodeRateLimited, "Too Many Requests"},
		{503, ``, CodeUnavailable, "Service Unavailable"},
		{500, `boom`, CodeInternal, "boom"},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Retry-After": {"7"}}}
		e := FromResponse("do thing", resp, []byte(tc.body))
		if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) || !strings.HasPrefix(e.Message, "do thing: HTTP ") {
			t.Errorf("%d: got %+v", tc.status, e)
		}
		if e.RetryAfter != 7*time.Second {
			t.Errorf("%d: retry after %v", tc.status, e.RetryAfter)
		}
		if e.Retryable != (tc.code == CodeRateLimited || tc.code == CodeUnavailable) {
			t.Errorf("%d: retryable %v", tc.status, e.Retryable)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	fields := []Field{{Name: "name", Type: String, Required: true}, {Name: "n", Type: Int}, {Name: "tags", Type: List}}
	ok, _ := decodeValues([]byte(`{"name":"a","n":3,"tags":["x"]}`))
	if err := checkArgs(fields, ok); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{}`:                     "name: missing required argument",
		`{"name":1}`:             "name: got json.Number, want string",
		`{"name":"a","n":1.5}`:   "n: got json.Number, want int",
		`{"name":"a","extra":1}`: "extra: unknown argument",
		`{"name":"a","tags":{}}`: "tags: got map[string]interface {}, want list",
	} {
		v, _ := decodeValues([]byte(body))
		if err := checkArgs(fields, v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}

func TestValuesAccessors(t *testing.T) {
	v, _ := decodeValues([]byte(`{"s":"x","i":42,"f":1.5,"b":true,"t":"2026-06-01T08:00:00Z","d":"1h30m0s","l":[1],"o":{"k":"v"}}`))
	if v.String("s") != "x" || v.Int("i") != 42 || v.Float("f") != 1.5 || !v.Bool("b") ||
		!v.Time("t").Equal(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)) || v.Duration("d") != 90*time.Minute ||
		len(v.List("l")) != 1 || v.Object("o")["k"] != "v" || v.Has("missing") {
		t.Fatalf("accessors: %v", v)
	}
	var dst struct {
		S string `json:"s"`
		I int    `json:"i"`
	}
	if err := v.Decode(&dst); err != nil || dst.S != "x" || dst.I != 42 {
		t.Fatalf("decode: %+v %v", dst, err)
	}
}

func TestSessionOnceLogsInOnce(t *testing.T) {
	s := &Session{}
	calls := 0
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			s.Once("k", func() (any, error) { calls++; time.Sleep(10 * time.Millisecond); return "tok", nil })
			done <- struct{}{}
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	if calls != 1 {
		t.Fatalf("login ran %d times", calls)
	}
}

func TestSchemaToProtoCarriesDefaults(t *testing.T) {
	p := &Plugin{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}},
		Ops: []Op{{Name: "get", Effect: Write, Handler: handler, Params: []Field{{Name: "ttl", Type: Duration, Default: "720h"}, {Name: "key", Type: Secret}}}}}
	s, err := schemaToProto(p)
	if err != nil {
		t.Fatal(err)
	}
	op := s.Ops[0]
	if op.Params[0].DefaultJson != `"720h"` || !op.Params[1].Secret || op.Effect.String() != "EFFECT_WRITE" {
		b, _ := json.Marshal(op)
		t.Fatalf("op = %s", b)
	}
}
