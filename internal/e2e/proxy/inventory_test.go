package proxy_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/proxytest"
	"github.com/tokenflow/tokenflow/internal/simulators"
)

// An inventory target's proxy: the fleet run reaches that target, and only
// that one, through it (with the password its reference names), and so do
// the runs that reach the target again from the journal (rotate --due). The
// proxy password appears in no output.
func TestInventoryProxyPerTarget(t *testing.T) {
	dir := t.TempDir()
	f, err := simulators.StartFleet([]string{"vcf"}, 2, true, filepath.Join(dir, "fleet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	inv := filepath.Join(dir, "fleet", "inventory.yaml")
	if err := f.WriteInventory(inv); err != nil {
		t.Fatal(err)
	}
	px := proxytest.Start()
	t.Cleanup(px.Close)
	px.User, px.Password = proxyUser, proxyPassword
	proxied, direct := f.Instances[0], f.Instances[1]
	data, _ := os.ReadFile(inv)
	head := "      " + proxied.Name + ":\n"
	if !strings.Contains(string(data), head) {
		t.Fatalf("no %q in the inventory:\n%s", head, data)
	}
	withProxy := strings.Replace(string(data), head, head+"        proxy: {url: \""+px.URL+"\", user: "+proxyUser+", password: env:PROXY_PASSWORD}\n", 1)
	if err := os.WriteFile(inv, []byte(withProxy), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("PROXY_PASSWORD", proxyPassword)
	t.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(dir, "state"))
	plugins := flowtest.Plugins(t, "vcf")
	run := func(args ...string) string {
		t.Helper()
		streams, out, errOut := cli.TestStreams()
		if code := cli.Run(context.Background(), append([]string{"--plugin-dir", plugins}, args...), streams); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		text := out.String() + errOut.String()
		if f := leaks(text); f != "" {
			t.Fatalf("%v leaks the proxy password (%q)", args, f)
		}
		return text
	}
	host := func(raw string) string { u, _ := url.Parse(raw); return u.Host }

	run("run", flowtest.Flow("vcf", "onboard.star"), "--targets", inv)
	got := px.Connects()
	if len(got) == 0 || slices.ContainsFunc(got, func(h string) bool { return h != host(proxied.Server.URL) }) {
		t.Fatalf("the proxy tunnelled %v, want only %s (%s; %s goes direct)", got, host(proxied.Server.URL), proxied.Name, direct.Name)
	}
	before := len(got)
	run("rotate", "--due", "31d")
	got = px.Connects()
	if len(got) == before || slices.ContainsFunc(got, func(h string) bool { return h != host(proxied.Server.URL) }) {
		t.Fatalf("after rotate --due the proxy tunnelled %v (before: %d), want more, all to %s", got, before, host(proxied.Server.URL))
	}
}
