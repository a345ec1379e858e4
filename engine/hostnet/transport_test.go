package hostnet

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/redact"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	hits atomic.Int32
	tr   *Transport
	red  *redact.Redactor
	conn *Conn
	plan *plan.Plan
}

func newFixture(t *testing.T, h func(n int32, w http.ResponseWriter, r *http.Request), opts Options) *fixture {
	f := &fixture{t: t, red: redact.New()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(f.hits.Add(1), w, r)
	}))
	t.Cleanup(f.srv.Close)
	opts.Redactor = f.red
	if opts.Retry.WaitMin == 0 {
		opts.Retry = RetryPolicy{Max: 3, WaitMin: time.Millisecond, WaitMax: 50 * time.Millisecond}
	}
	f.tr = New(opts)
	c, err := NewConn("c1", "acme", f.srv.URL, "", false)
	if err != nil {
		t.Fatal(err)
	}
	f.conn = c
	return f
}

func (f *fixture) do(write, dryRun bool, req *pb.HTTPRequest) *pb.HTTPResponse {
	f.tr.Begin(&Step{ID: "s1", Call: "acme.op", Write: write, DryRun: dryRun, Conn: f.conn, Plan: f.plan, PlanStep: "s1"})
	defer f.tr.End("s1")
	req.StepId = "s1"
	if req.Url == "" {
		req.Url = f.srv.URL + "/x"
	}
	return f.tr.Do(context.Background(), req)
}

func TestRetries429WithRetryAfterForAnyMethod(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		if n < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}, Options{})
	resp := f.do(true, false, &pb.HTTPRequest{Method: "POST", Body: []byte(`{}`)})
	if resp.Status != 200 || f.hits.Load() != 3 {
		t.Fatalf("status %d after %d hits", resp.Status, f.hits.Load())
	}
}

func TestLongRetryAfterIsHandedToThePlugin(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "900")
		w.WriteHeader(http.StatusTooManyRequests)
	}, Options{})
	start := time.Now()
	resp := f.do(false, false, &pb.HTTPRequest{Method: "GET"})
	if resp.Status != 429 || f.hits.Load() != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("status %d after %d hits in %s", resp.Status, f.hits.Load(), time.Since(start))
	}
}

func TestUnknownOutcomeWriteIsNotRetried(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}, Options{})
	resp := f.do(true, false, &pb.HTTPRequest{Method: "POST", Body: []byte(`{}`)})
	if resp.Status != 502 || f.hits.Load() != 1 {
		t.Fatalf("write POST: status %d after %d hits, want one attempt", resp.Status, f.hits.Load())
	}
	f.hits.Store(0)
	resp = f.do(false, false, &pb.HTTPRequest{Method: "POST", Body: []byte(`{}`)})
	if f.hits.Load() != 4 {
		t.Fatalf("read POST: %d hits, want 4 (retried)", f.hits.Load())
	}
}

func TestAllowlist(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {}, Options{})
	resp := f.do(false, false, &pb.HTTPRequest{Method: "GET", Url: "http://evil.example:80/x"})
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "refused") || f.hits.Load() != 0 {
		t.Fatalf("got %+v", resp)
	}
	resp = f.do(false, false, &pb.HTTPRequest{Method: "GET", Url: strings.Replace(f.srv.URL, "http:", "https:", 1) + "/x"})
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "refused") {
		t.Fatalf("scheme change allowed: %+v", resp)
	}
}

func TestDryRunHoldsWritesButSendsSessionsAndReads(t *testing.T) {
	p := plan.New()
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {}, Options{})
	f.plan = p
	p.AddStep("s1", "acme.op", "f:1:1", "write")
	if resp := f.do(true, true, &pb.HTTPRequest{Method: "POST", Body: []byte(`{"a":1}`)}); !resp.Held {
		t.Fatal("write POST not held")
	}
	if resp := f.do(true, true, &pb.HTTPRequest{Method: "POST", Session: true}); resp.Held {
		t.Fatal("session request held")
	}
	if resp := f.do(true, true, &pb.HTTPRequest{Method: "GET"}); resp.Held {
		t.Fatal("GET held")
	}
	ph := p.Placeholder("create.id")
	if resp := f.do(false, true, &pb.HTTPRequest{Method: "GET", Url: f.srv.URL + "/items/" + ph}); !resp.Held {
		t.Fatal("a read carrying an unknown was sent")
	}
	if f.hits.Load() != 2 {
		t.Fatalf("server saw %d requests, want 2", f.hits.Load())
	}
}

func TestWireCredentialsAreRegistered(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "JSESSIONID=sess-canary-1234567; Path=/")
		w.Write([]byte(`{"token":"issued-canary-token","nested":{"refresh_token":"refresh-canary"}}`))
	}, Options{})
	f.do(false, false, &pb.HTTPRequest{Method: "GET", Headers: []*pb.Header{{Name: "Authorization", Values: []string{"Bearer bearer-canary-99"}}}})
	out := f.red.String("bearer-canary-99 sess-canary-1234567 issued-canary-token refresh-canary")
	if out != "*** *** *** ***" {
		t.Fatalf("redacted: %q", out)
	}
}

func TestCassetteRedactsAndReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	red := redact.New()
	red.Add("pw-canary-5150")
	cas, err := OpenCassette(path, Record, red)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Date", "Mon, 01 Jun 2026 08:00:00 GMT")
		w.Write([]byte(`{"echo":` + string(b) + `,"token":"srv-canary-token"}`))
	}, Options{Cassette: cas})
	f.red = red
	f.tr.opts.Redactor = red
	resp := f.do(false, false, &pb.HTTPRequest{Method: "POST", Body: []byte(`{"password":"pw-canary-5150"}`),
		Headers: []*pb.Header{{Name: "X-F5-Auth-Token", Values: []string{"hdr-canary-7"}}}})
	if resp.Status != 200 {
		t.Fatalf("%+v", resp)
	}
	if err := cas.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, c := range []string{"pw-canary", "srv-canary", "hdr-canary", "Date:", "Mon, 01 Jun"} {
		if strings.Contains(string(data), c) {
			t.Errorf("cassette holds %q:\n%s", c, data)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cassette mode %v", fi.Mode().Perm())
	}

	// Replay: another password, another host, no server.
	red2 := redact.New()
	red2.Add("other-password")
	rep, err := OpenCassette(path, Replay, red2)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	tr := New(Options{Redactor: red2, Cassette: rep})
	conn, _ := NewConn("c1", "acme", "https://elsewhere.example", "", false)
	tr.Begin(&Step{ID: "s1", Call: "acme.op", Conn: conn})
	resp = tr.Do(context.Background(), &pb.HTTPRequest{StepId: "s1", Method: "POST", Url: "https://elsewhere.example/x", Body: []byte(`{"password":"other-password"}`)})
	// Each secret is saved as its own placeholder, so a replay can still
	// tell two secrets apart; none of the real values is there.
	if resp.Status != 200 || !strings.Contains(string(resp.Body), `"password":"__tokenflow_secret_1__"`) || !strings.Contains(string(resp.Body), `"token":"__tokenflow_secret_2__"`) {
		t.Fatalf("replay: %+v", resp)
	}
	resp = tr.Do(context.Background(), &pb.HTTPRequest{StepId: "s1", Method: "POST", Url: "https://elsewhere.example/x", Body: []byte(`{"password":"other-password"}`)})
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "no recorded exchange for POST https://elsewhere.example/x") {
		t.Fatalf("second replay of a single recording: %+v", resp)
	}
}

func TestRegisterJSONSecretsOfAKeyFile(t *testing.T) {
	red := redact.New()
	RegisterJSONSecrets(red, []byte(`{"email": "user@example.com", "key": "k3y-canary-value", "organization_key": "org-canary-value"}`))
	if got := red.String("k3y-canary-value org-canary-value user@example.com"); got != "*** *** user@example.com" {
		t.Fatalf("got %q", got)
	}
}
