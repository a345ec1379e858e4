package engine_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
)

// fakeOps is an OpExecutor that answers every call itself and remembers
// what it was asked.
type fakeOps struct {
	schemas int
	calls   []*pluginmgr.CallRequest
	conns   []*hostnet.Conn
}

var fakeSchema = &schema.Schema{Name: "acme", Connection: []schema.Field{
	{Name: "url", Type: schema.String, Required: true},
	{Name: "password", Type: schema.Secret, Required: true},
}, Ops: []*schema.Op{{
	Vendor: "acme", Name: "issue", Effect: schema.Write,
	Params:  []schema.Field{{Name: "name", Type: schema.String, Required: true}},
	Results: []schema.Field{{Name: "id", Type: schema.String}, {Name: "token", Type: schema.Secret}},
}}}

func (f *fakeOps) Schema(_ context.Context, vendor string) (*schema.Schema, error) {
	f.schemas++
	return fakeSchema, nil
}

func (f *fakeOps) Plugin(vendor string, conn *hostnet.Conn) pluginmgr.Plugin {
	f.conns = append(f.conns, conn)
	return fakePlugin{f}
}

type fakePlugin struct{ f *fakeOps }

func (p fakePlugin) Schema() *schema.Schema { return fakeSchema }
func (p fakePlugin) Call(_ context.Context, req *pluginmgr.CallRequest) (*pluginmgr.CallResult, error) {
	p.f.calls = append(p.f.calls, req)
	return &pluginmgr.CallResult{Result: []byte(`{"id":"t-1","token":"ref-to-token"}`)}, nil
}
func (p fakePlugin) CloseConnection(context.Context, *pluginmgr.CallRequest) error { return nil }

// TestOpExecutorSourcesAndSecretRef: with Ops, Sources and SecretRef (what
// distributed mode sets) the flow runs from the bundle, its calls go to the
// executor with the connection's network settings, secret() yields the
// reference and never reads the environment, and file.* is refused.
func TestOpExecutorSourcesAndSecretRef(t *testing.T) {
	dir := t.TempDir() // nothing is written there: the flow exists only in the bundle
	flow := filepath.Join(dir, "flows", "acme", "flow.star")
	lib := filepath.Join(dir, "flows", "lib", "h.star")
	src := `load("h.star", "name")
a = connect("acme", url = "https://acme.example:8443", password = secret("env:ACME_PASSWORD"))
t = a.issue(name = name())
output("id", t.id)
output("token_is_secret", type(t.token) == "secret")
`
	ops := &fakeOps{}
	res, err := engine.Run(context.Background(), flow, engine.Options{
		Ops:     ops,
		Sources: map[string][]byte{flow: []byte(src), lib: []byte(`def name(): return "bot"`)},
		SecretRef: func(ref string) (string, error) {
			return "<ref " + ref + ">", nil
		},
		Getenv: func(k string) (string, bool) {
			if k == "ACME_PASSWORD" {
				t.Errorf("secret() read $%s although SecretRef is set", k)
				return "clear-password", true
			}
			return "", false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ops.schemas != 1 || len(ops.calls) != 1 || len(ops.conns) != 1 {
		t.Fatalf("executor saw %d schema lookups, %d calls, %d connections; want 1 each", ops.schemas, len(ops.calls), len(ops.conns))
	}
	if got := ops.conns[0].BaseURL.String(); got != "https://acme.example:8443" {
		t.Errorf("connection URL %q", got)
	}
	var conn map[string]string
	json.Unmarshal(ops.calls[0].Connection, &conn)
	if conn["password"] != "<ref env:ACME_PASSWORD>" {
		t.Errorf("connection carried password %q, want the reference", conn["password"])
	}
	if string(ops.calls[0].Args) != `{"name":"bot"}` || ops.calls[0].Op != "issue" || ops.calls[0].StepID != "s1" {
		t.Errorf("call %+v", ops.calls[0])
	}
	out := map[string]any{}
	for _, o := range res.Outputs {
		out[o.Name] = o.Value
	}
	if out["id"] != "t-1" || out["token_is_secret"] != true {
		t.Errorf("outputs %v", out)
	}

	_, err = engine.Run(context.Background(), flow, engine.Options{
		Ops: ops, Sources: map[string][]byte{flow: []byte(`file.exists("/etc/passwd")`)},
	})
	if err == nil || !strings.Contains(err.Error(), "not available in distributed mode") {
		t.Fatalf("file.exists in a bundled run: got %v, want a refusal", err)
	}
}
