// Package proxy_test runs a representative shipped flow of every vendor
// through an HTTP proxy on loopback (internal/proxytest): https simulators
// are reached with CONNECT tunnels, the plain-http Vigiles simulator by
// forwarding. The proxy demands a password, a canary that must appear in no
// output, plan, log, cassette or error.
package proxy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/proxytest"
	bigip "github.com/tokenflow/tokenflow/plugins/bigip/sim"
	hyperflex "github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	turbonomic "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	vcf "github.com/tokenflow/tokenflow/plugins/vcf/sim"
	vigiles "github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

const (
	proxyUser     = "svc-proxy"
	proxyPassword = "Px-Canary-e2e-51c0ffee"
)

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// vendorCase is one vendor's flow against its simulator.
type vendorCase struct {
	vendor, flow string
	// setup starts the simulator and returns the run's vars and env.
	setup func(t *testing.T, clock *simkit.Clock) (vars, env map[string]string)
}

var cases = []vendorCase{
	{"vcf", "onboard.star", func(t *testing.T, clock *simkit.Clock) (map[string]string, map[string]string) {
		s := vcf.New(vcf.Config{Clock: clock})
		srv, ca := flowtest.ServeTLS(t, s.Handler())
		s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
		return map[string]string{"url": srv.URL, "ca_file": ca, "realm": "flt-idb02", "client_id": "ci-bot", "token_name": "ci-bot-main"},
			map[string]string{"VCF_PASSWORD": vcf.DefaultPassword}
	}},
	{"bigip", "session.star", func(t *testing.T, clock *simkit.Clock) (map[string]string, map[string]string) {
		s := bigip.New(bigip.Config{Clock: clock})
		srv, ca := flowtest.ServeTLS(t, s.Handler())
		return map[string]string{"url": srv.URL, "ca_file": ca, "username": bigip.DefaultUser, "store_name": "bigip/proxy", "lifetime": "8h"},
			map[string]string{"BIGIP_PASSWORD": bigip.DefaultPassword}
	}},
	{"hyperflex", "token.star", func(t *testing.T, clock *simkit.Clock) (map[string]string, map[string]string) {
		s := hyperflex.New(hyperflex.Config{Clock: clock})
		srv, ca := flowtest.ServeTLS(t, s.Handler())
		return map[string]string{"url": srv.URL, "ca_file": ca, "user": hyperflex.DefaultUser, "token_file": filepath.Join(t.TempDir(), "hx_token.xml")},
			map[string]string{"HX_PASSWORD": hyperflex.DefaultPassword}
	}},
	{"turbonomic", "inventory.star", func(t *testing.T, clock *simkit.Clock) (map[string]string, map[string]string) {
		s := turbonomic.New(turbonomic.Config{Clock: clock})
		srv, ca := flowtest.ServeTLS(t, s.Handler())
		return map[string]string{"url": srv.URL, "ca_file": ca},
			map[string]string{"TURBO_PASSWORD": turbonomic.DefaultPassword}
	}},
	{"vigiles", "heartbeat.star", func(t *testing.T, clock *simkit.Clock) (map[string]string, map[string]string) {
		s := vigiles.New(vigiles.Config{Clock: clock})
		srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{}) // plain http, as the Vigiles tests serve it
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		key, _ := json.Marshal(map[string]string{"email": vigiles.DefaultEmail, "key": vigiles.DefaultKey})
		kf := filepath.Join(t.TempDir(), "linuxlink_key")
		if err := os.WriteFile(kf, key, 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"url": srv.URL, "key_file": kf, "product": vigiles.DefaultProductToken, "folder": vigiles.DefaultFolderToken}, nil
	}},
}

// leaks lists the forms the proxy password could take.
func leaks(text string) string {
	for _, f := range []string{proxyPassword, url.QueryEscape(proxyPassword),
		base64.StdEncoding.EncodeToString([]byte(proxyPassword)),
		base64.StdEncoding.EncodeToString([]byte(proxyUser + ":" + proxyPassword))} {
		if strings.Contains(text, f) {
			return f
		}
	}
	return ""
}

func TestEveryVendorsFlowRunsThroughAProxy(t *testing.T) {
	for _, c := range cases {
		t.Run(c.vendor, func(t *testing.T) {
			clock := simkit.NewClock(start)
			vars, env := c.setup(t, clock)
			target, _ := url.Parse(vars["url"])
			px := proxytest.Start()
			t.Cleanup(px.Close)
			px.User, px.Password = proxyUser, proxyPassword
			cassette := filepath.Join(t.TempDir(), "through-proxy.yaml")
			var log bytes.Buffer
			opts := engine.Options{
				Vars: vars, Store: store.NewMemory(clock.Now), Now: clock.Now, Log: &log,
				Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				Retry:  hostnet.RetryPolicy{Max: -1},
				Proxy:  &engine.RunProxy{URL: px.URL, User: proxyUser, Password: proxyPassword},
				Record: cassette, AllowHTTP: target.Scheme == "http",
			}
			res, err := flowtest.Run(t, flowtest.Flow(c.vendor, c.flow), opts, c.vendor)
			if err != nil {
				t.Fatalf("%s through the proxy: %v", c.flow, err)
			}
			if target.Scheme == "https" {
				if got := px.Connects(); len(got) == 0 || slices.ContainsFunc(got, func(h string) bool { return h != target.Host }) {
					t.Fatalf("the proxy tunnelled %v, want only %s", got, target.Host)
				}
			} else if got := px.Forwards(); len(got) == 0 || !strings.HasPrefix(got[0], vars["url"]) {
				t.Fatalf("the proxy forwarded %v, want requests to %s", got, vars["url"])
			}
			data, _ := os.ReadFile(cassette)
			for where, text := range map[string]string{
				"outputs": fmt.Sprint(flowtest.Outputs(res)), "log": log.String(), "cassette": string(data),
			} {
				if f := leaks(text); f != "" {
					t.Fatalf("the %s leaks the proxy password (%q)", where, f)
				}
			}
			if len(data) == 0 {
				t.Fatal("no cassette was recorded")
			}
		})
	}
}

func TestAWrongProxyPasswordFailsNamingTheProxyNotThePassword(t *testing.T) {
	clock := simkit.NewClock(start)
	vars, env := cases[0].setup(t, clock)
	px := proxytest.Start()
	t.Cleanup(px.Close)
	px.User, px.Password = proxyUser, "the-proxy-wants-another"
	_, err := flowtest.Run(t, flowtest.Flow("vcf", "onboard.star"), engine.Options{
		Vars: vars, Store: store.NewMemory(clock.Now), Now: clock.Now,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Retry:  hostnet.RetryPolicy{Max: -1},
		Proxy:  &engine.RunProxy{URL: px.URL, User: proxyUser, Password: proxyPassword},
	}, "vcf")
	if err == nil || !strings.Contains(err.Error(), "through proxy "+px.URL) || px.Refused() == 0 {
		t.Fatalf("wrong proxy password: %v (refused %d)", err, px.Refused())
	}
	if f := leaks(err.Error()); f != "" {
		t.Fatalf("the error leaks the proxy password (%q): %v", f, err)
	}
}
