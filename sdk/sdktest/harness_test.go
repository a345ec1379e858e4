package sdktest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

// probe is a plugin whose ops reach wherever they are told: the harness,
// not the plugin, must enforce the host rules.
func probe() *sdk.Plugin {
	fetch := func(ctx context.Context, c *sdk.Call, method string) (any, error) {
		req, err := http.NewRequestWithContext(ctx, method, c.Args.String("target"), nil)
		if err != nil {
			return nil, err
		}
		resp, body, err := c.Send(req)
		if err != nil {
			return nil, err
		}
		return map[string]any{"status": resp.StatusCode, "body": string(body)}, nil
	}
	results := []sdk.Field{{Name: "status", Type: sdk.Int, Doc: "HTTP status"}, {Name: "body", Type: sdk.String, Doc: "body text"}}
	params := []sdk.Field{{Name: "target", Type: sdk.String, Required: true, Doc: "absolute URL"}}
	return &sdk.Plugin{
		Name: "probe", Version: "0.0.1", Doc: "reaches a URL",
		Connection: []sdk.Field{{Name: "url", Type: sdk.String, Required: true, Doc: "base URL"}},
		Ops: []sdk.Op{
			{Name: "fetch", Doc: "GET a URL", Effect: sdk.Read, Params: params, Results: results,
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) { return fetch(ctx, c, http.MethodGet) }},
			{Name: "poke", Doc: "POST to a URL", Effect: sdk.Write, Params: params, Results: results,
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) { return fetch(ctx, c, http.MethodPost) },
				Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
					if strings.HasSuffix(c.Args.String("target"), "/done") {
						return map[string]any{"status": 200, "body": "done"}, true, nil
					}
					return nil, false, nil
				}},
			{Name: "numbers", Doc: "typed numbers", Effect: sdk.Read,
				Results: []sdk.Field{{Name: "n", Type: sdk.Int, Doc: "an int"}, {Name: "f", Type: sdk.Float, Doc: "a float"}},
				Handler: func(context.Context, *sdk.Call) (any, error) {
					return map[string]any{"n": 3, "f": 2, "extra": map[string]any{"i": 4, "x": 1.5, "l": []any{7}}}, nil
				}},
			{Name: "epoch", Doc: "a timestamp sent as a number", Effect: sdk.Read,
				Results: []sdk.Field{{Name: "at", Type: sdk.Timestamp, Doc: "when"}},
				Handler: func(context.Context, *sdk.Call) (any, error) { return map[string]any{"at": 1780300800}, nil }},
		},
	}
}

func server(t *testing.T, hits *atomic.Int32) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "hello")
	}))
	t.Cleanup(s.Close)
	return s
}

func TestHostOutsideTheAllowlistIsRefusedAsInTheEngine(t *testing.T) {
	var ownHits, otherHits atomic.Int32
	own, other := server(t, &ownHits), server(t, &otherHits)
	h := sdktest.New(t, probe(), http.DefaultTransport)
	conn := map[string]any{"url": own.URL}

	out, err := h.Call("fetch", conn, map[string]any{"target": own.URL + "/x"})
	if err != nil || out["status"] != int64(200) || out["body"] != "hello" {
		t.Fatalf("own host: %v, %v", out, err)
	}
	_, err = h.Call("fetch", conn, map[string]any{"target": other.URL + "/x"})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodePermissionDenied || !strings.Contains(e.Message, "only allows "+strings.TrimSuffix(own.URL, "/")) {
		t.Fatalf("other host: got %v, want permission_denied naming the allowlist", err)
	}
	if otherHits.Load() != 0 {
		t.Fatalf("the other host got %d requests", otherHits.Load())
	}
	ex := h.Exchanges()
	if len(ex) != 2 || !ex[0].Sent() || ex[1].Sent() || !strings.Contains(ex[1].Error, "refused") {
		t.Fatalf("exchanges = %+v", ex)
	}
}

func TestDryRunHoldsWritesAndSendsReads(t *testing.T) {
	var hits atomic.Int32
	s := server(t, &hits)
	h := sdktest.New(t, probe(), http.DefaultTransport)
	h.DryRun = true
	conn := map[string]any{"url": s.URL}
	if _, err := h.Call("poke", conn, map[string]any{"target": s.URL + "/p"}); err != sdktest.Held {
		t.Fatalf("poke in a dry-run: %v, want Held", err)
	}
	if hits.Load() != 0 {
		t.Fatal("a held write reached the server")
	}
	if _, err := h.Call("fetch", conn, map[string]any{"target": s.URL + "/g"}); err != nil || hits.Load() != 1 {
		t.Fatalf("read in a dry-run: %v (%d hits)", err, hits.Load())
	}
	if ex := h.Exchanges(); len(ex) != 2 || !ex[0].Held || ex[0].Method != http.MethodPost {
		t.Fatalf("exchanges = %+v", ex)
	}
}

func TestResultsArePlainValuesCheckedAgainstTheSchema(t *testing.T) {
	h := sdktest.New(t, probe(), http.DefaultTransport)
	conn := map[string]any{"url": "http://127.0.0.1:9"}
	out, err := h.Call("numbers", conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	extra := out["extra"].(map[string]any)
	if out["n"] != int64(3) || out["f"] != float64(2) || extra["i"] != int64(4) || extra["x"] != 1.5 || extra["l"].([]any)[0] != int64(7) {
		t.Fatalf("numbers = %#v", out)
	}
	_, err = h.Call("epoch", conn, nil)
	if err == nil || !strings.Contains(err.Error(), "result field at") || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("a number for a timestamp: %v, want a schema error", err)
	}
}

func TestReconcile(t *testing.T) {
	h := sdktest.New(t, probe(), http.DefaultTransport)
	conn := map[string]any{"url": "http://127.0.0.1:9"}
	out, applied, err := h.Reconcile("poke", conn, map[string]any{"target": "http://127.0.0.1:9/done"})
	if err != nil || !applied || out["status"] != int64(200) {
		t.Fatalf("applied: %v %v %v", out, applied, err)
	}
	if _, applied, err := h.Reconcile("poke", conn, map[string]any{"target": "http://127.0.0.1:9/new"}); err != nil || applied {
		t.Fatalf("not applied: %v %v", applied, err)
	}
	var e *sdk.Error
	if _, _, err := h.Reconcile("fetch", conn, map[string]any{"target": "http://127.0.0.1:9/"}); !errors.As(err, &e) {
		t.Fatalf("an op without Reconcile: %v, want an error", err)
	}
}
