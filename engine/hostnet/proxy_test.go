package hostnet

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/internal/proxytest"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

const proxyCanary = "Px-Canary-4e1d9a77"

// tlsVendor is an https vendor on loopback whose certificate names
// example.com (httptest's), with its CA in a file.
func tlsVendor(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func startProxy(t *testing.T) *proxytest.Proxy {
	p := proxytest.Start()
	t.Cleanup(p.Close)
	return p
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func doStep(t *testing.T, tr *Transport, c *Conn, write, dryRun bool, p *plan.Plan, method, rawURL string) *pb.HTTPResponse {
	t.Helper()
	tr.Begin(&Step{ID: "s1", Call: "acme.op", Write: write, DryRun: dryRun, Conn: c, Plan: p, PlanStep: "s1"})
	defer tr.End("s1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tr.Do(ctx, &pb.HTTPRequest{StepId: "s1", Method: method, Url: rawURL})
}

func TestProxyTunnelsTheTargetWithCONNECT(t *testing.T) {
	vendor, ca := tlsVendor(t)
	px := startProxy(t)
	px.User, px.Password = "svc", proxyCanary
	red := redact.New()
	tr := New(Options{Redactor: red, Retry: RetryPolicy{Max: -1}})
	c, err := NewConn("c1", "acme", vendor.URL, ca, false)
	if err != nil {
		t.Fatal(err)
	}
	c.Proxy = &Proxy{URL: mustURL(t, px.URL), User: "svc", Password: proxyCanary}
	red.Add(c.Proxy.Secrets()...)
	resp := doStep(t, tr, c, false, false, nil, "GET", vendor.URL+"/x")
	if resp.Error != nil || resp.Status != 200 {
		t.Fatalf("through the proxy: %+v", resp)
	}
	target := strings.TrimPrefix(vendor.URL, "https://")
	if got := px.Connects(); !slices.Equal(got, []string{target}) {
		t.Fatalf("the proxy saw CONNECT %v, want [%s]", got, target)
	}
	if s := red.String("pw " + proxyCanary); strings.Contains(s, proxyCanary) {
		t.Fatalf("the proxy password is not redacted: %q", s)
	}

	// The allowlist checks the target, before the proxy: nothing reaches it.
	resp = doStep(t, tr, c, false, false, nil, "GET", "https://elsewhere.example:443/x")
	if resp.Error == nil || resp.Error.Code != pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED || len(px.Connects()) != 1 {
		t.Fatalf("a host off the allowlist: %+v, proxy saw %v", resp, px.Connects())
	}

	// A dry-run holds a write's POST: the proxy sees nothing either.
	p := plan.New()
	resp = doStep(t, tr, c, true, true, p, "POST", vendor.URL+"/x")
	if !resp.Held || len(px.Connects()) != 1 {
		t.Fatalf("dry-run write: %+v, proxy saw %v", resp, px.Connects())
	}
}

func TestProxyRefusalNamesTheProxyNotThePassword(t *testing.T) {
	vendor, ca := tlsVendor(t)
	px := startProxy(t)
	px.User, px.Password = "svc", "the-right-one"
	red := redact.New()
	tr := New(Options{Redactor: red, Retry: RetryPolicy{Max: -1}})
	c, _ := NewConn("c1", "acme", vendor.URL, ca, false)
	c.Proxy = &Proxy{URL: mustURL(t, px.URL), User: "svc", Password: proxyCanary}
	red.Add(c.Proxy.Secrets()...)
	resp := doStep(t, tr, c, false, false, nil, "GET", vendor.URL+"/x")
	if resp.Error == nil || px.Refused() == 0 {
		t.Fatalf("wrong proxy password: %+v (refused %d)", resp, px.Refused())
	}
	msg := resp.Error.Message
	if !strings.Contains(msg, "through proxy "+px.URL+" (the connection's proxy)") || !strings.Contains(msg, "Proxy Authentication Required") || strings.Contains(msg, proxyCanary) {
		t.Fatalf("error: %s", msg)
	}
}

func TestEnvProxyCarriesAHostOnlyItCanResolve(t *testing.T) {
	vendor, ca := tlsVendor(t)
	px := startProxy(t)
	// example.com is what httptest's certificate names; only the proxy
	// maps it to the loopback vendor, so an answer proves the tunnel.
	px.Hosts["example.com"] = "127.0.0.1"
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(vendor.URL, "https://"))
	target := "https://example.com:" + port
	getenv := func(k string) (string, bool) {
		v, ok := map[string]string{"HTTPS_PROXY": px.URL, "NO_PROXY": "other.example,10.0.0.0/8"}[k]
		return v, ok
	}
	tr := New(Options{Redactor: redact.New(), Retry: RetryPolicy{Max: -1}})
	c, _ := NewConn("c1", "acme", target, ca, false)
	c.Proxy = &Proxy{Env: ProxyEnvFrom(getenv)}
	if err := c.Proxy.Check(); err != nil {
		t.Fatal(err)
	}
	resp := doStep(t, tr, c, false, false, nil, "GET", target+"/x")
	if resp.Error != nil || resp.Status != 200 || !slices.Equal(px.Connects(), []string{"example.com:" + port}) {
		t.Fatalf("through HTTPS_PROXY: %+v, proxy saw %v", resp, px.Connects())
	}
}

func TestProxySelection(t *testing.T) {
	env := ProxyEnv{HTTPSProxy: "http://proxy.corp:3128", HTTPProxy: "proxy.corp:8080", NoProxy: "skip.example,.internal.example,10.0.0.0/8,port.example:8443"}
	explicit := &Proxy{URL: &url.URL{Scheme: "http", Host: "explicit:3128"}, User: "u", Password: proxyCanary, Env: env}
	for _, tc := range []struct {
		p    *Proxy
		url  string
		want string // proxy host, "" for direct
	}{
		{&Proxy{Env: env}, "https://vcf.example", "proxy.corp:3128"},
		{&Proxy{Env: env}, "http://sim.example:8080", "proxy.corp:8080"},
		{&Proxy{Env: env}, "https://skip.example", ""},
		{&Proxy{Env: env}, "https://a.internal.example", ""},
		{&Proxy{Env: env}, "https://10.1.2.3", ""},
		{&Proxy{Env: env}, "https://port.example:8443", ""},
		{&Proxy{Env: env}, "https://port.example:443", "proxy.corp:3128"},
		{&Proxy{Env: env}, "https://127.0.0.1:9443", ""}, // loopback never takes an env proxy
		{&Proxy{Env: ProxyEnv{HTTPSProxy: "http://p:1", NoProxy: "*"}}, "https://vcf.example", ""},
		{&Proxy{Env: env, Direct: true}, "https://vcf.example", ""},
		{explicit, "https://skip.example", "explicit:3128"}, // NO_PROXY is for the env's proxies
		{explicit, "https://127.0.0.1:9443", "explicit:3128"},
	} {
		got, err := tc.p.For(mustURL(t, tc.url))
		host := ""
		if got != nil {
			host = got.Host
		}
		if err != nil || host != tc.want {
			t.Errorf("%s via %+v: got %q (%v), want %q", tc.url, tc.p.Env, host, err, tc.want)
		}
	}
	if d := explicit.Describe(mustURL(t, "https://vcf.example")); d != "http://explicit:3128 (the connection's proxy)" || strings.Contains(d, proxyCanary) {
		t.Errorf("Describe: %q", d)
	}
}

func TestParseProxyRefusesCredentialsInTheURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://u:" + proxyCanary + "@proxy:3128": "must not carry credentials",
		"socks5://proxy:1080":                     "scheme must be http or https",
		"http://proxy:3128/path":                  "no path",
		"http://":                                 "has no host",
	} {
		_, err := ParseProxy(raw)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), proxyCanary) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
	if u, err := ParseProxy("http://proxy.example:3128/"); err != nil || u.String() != "http://proxy.example:3128" {
		t.Errorf("a good proxy: %v, %v", u, err)
	}
	bad := &Proxy{Env: ProxyEnv{HTTPSProxy: "ftp://proxy:21"}}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "HTTPS_PROXY") {
		t.Errorf("a bad HTTPS_PROXY: %v", err)
	}
}

func TestEnvProxyCredentialsAreSecrets(t *testing.T) {
	p := &Proxy{Env: ProxyEnv{HTTPSProxy: "http://svc:" + proxyCanary + "@proxy:3128"}}
	s := p.Secrets()
	if !slices.Contains(s, proxyCanary) || len(s) != 2 {
		t.Fatalf("secrets %q", s)
	}
}
