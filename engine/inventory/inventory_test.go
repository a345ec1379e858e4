package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const pinHex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

// fleet is the spec's example, with a pin in upper case to check it is normalised.
var fleet = `# fleet.yaml
vars:
  realm: flt-idb02
  retries: 3
groups:
  east:
    vars:
      client_id: ci-bot
      realm: east-realm
    labels: {site: east, tier: dev}
    targets:
      xyz-east-1:
        vendor: xyz
        url: https://10.0.0.5
        tls:
          ca_file: certs/east-ca.pem
          pin: SHA256:` + pinHex + `
          insecure: false
        credentials:
          XYZ_PASSWORD: env:EAST_XYZ_PASSWORD
        labels: {tier: prod}
        vars: {token_name: ci-bot-east-1, url: https://override.example}
    groups:
      east-lab:
        vars: {client_id: lab-bot}
        targets:
          xyz-east-lab: {vendor: xyz, url: https://10.0.9.5, credentials: {XYZ_PASSWORD: file:/etc/tokenflow/lab.pw}}
targets:
  zebra-1:
    vendor: zebra
    url: https://zebra-1.example.com
    credentials: {ZEBRA_PASSWORD: env:ZEBRA_PASSWORD, KEY: file:~/keys/zebra.pem}
    tls: {insecure: true}
    vars: {username: automation, verbose: true}
`

func parse(t *testing.T, src string) *Inventory {
	t.Helper()
	inv, err := Parse("fleet.yaml", []byte(src), Options{KnownVendors: []string{"xyz", "zebra"}, Home: "/home/op"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return inv
}

func TestParseExample(t *testing.T) {
	inv := parse(t, fleet)
	dir, _ := filepath.Abs(".")
	if inv.Path != "fleet.yaml" || inv.Dir != dir {
		t.Errorf("Path, Dir = %q, %q; want fleet.yaml, %q", inv.Path, inv.Dir, dir)
	}
	var names []string
	for _, tg := range inv.Targets {
		names = append(names, tg.Name)
	}
	if want := []string{"xyz-east-1", "xyz-east-lab", "zebra-1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("targets = %v, want %v", names, want)
	}
	wantGroups := map[string][]string{"east": {"xyz-east-1", "xyz-east-lab"}, "east-lab": {"xyz-east-lab"}}
	if !reflect.DeepEqual(inv.Groups, wantGroups) {
		t.Errorf("groups = %v, want %v", inv.Groups, wantGroups)
	}

	e1, lab, big := inv.Targets[0], inv.Targets[1], inv.Targets[2]
	want1 := &Target{
		Name: "xyz-east-1", Vendor: "xyz", URL: "https://10.0.0.5",
		CAFile:      filepath.Join(dir, "certs/east-ca.pem"),
		Pin:         "sha256:" + strings.ToLower(pinHex),
		Credentials: map[string]Ref{"XYZ_PASSWORD": {Kind: "env", Arg: "EAST_XYZ_PASSWORD", Pos: "fleet.yaml:20"}},
		Labels:      map[string]string{"site": "east", "tier": "prod"},
		Vars: map[string]string{
			"realm": "east-realm", "retries": "3", "client_id": "ci-bot", "token_name": "ci-bot-east-1",
			"url": "https://override.example", "target": "xyz-east-1", "ca_file": filepath.Join(dir, "certs/east-ca.pem"),
		},
		Groups: []string{"east"},
		Pos:    "fleet.yaml:12",
	}
	if !reflect.DeepEqual(e1, want1) {
		t.Errorf("xyz-east-1 =\n%+v\nwant\n%+v", e1, want1)
	}
	if want := []string{"east", "east-lab"}; !reflect.DeepEqual(lab.Groups, want) {
		t.Errorf("xyz-east-lab groups = %v, want %v", lab.Groups, want)
	}
	wantLabVars := map[string]string{"realm": "east-realm", "retries": "3", "client_id": "lab-bot",
		"url": "https://10.0.9.5", "target": "xyz-east-lab", "XYZ_PASSWORD": "/etc/tokenflow/lab.pw"}
	if !reflect.DeepEqual(lab.Vars, wantLabVars) {
		t.Errorf("xyz-east-lab vars = %v, want %v", lab.Vars, wantLabVars)
	}
	if want := (map[string]string{"site": "east", "tier": "dev"}); !reflect.DeepEqual(lab.Labels, want) {
		t.Errorf("xyz-east-lab labels = %v, want %v", lab.Labels, want)
	}
	if !big.Insecure || big.Pin != "" || big.CAFile != "" || len(big.Groups) != 0 || big.Pos != "fleet.yaml:29" {
		t.Errorf("zebra-1 = %+v", big)
	}
	if got := big.Credentials["KEY"].String(); got != "file:/home/op/keys/zebra.pem" {
		t.Errorf("KEY ref = %q", got)
	}
	if big.Vars["verbose"] != "true" || big.Vars["KEY"] != "/home/op/keys/zebra.pem" || big.Vars["realm"] != "flt-idb02" {
		t.Errorf("zebra-1 vars = %v", big.Vars)
	}
	if got := big.Credentials["ZEBRA_PASSWORD"].String(); got != "env:ZEBRA_PASSWORD" {
		t.Errorf("ZEBRA_PASSWORD ref = %q", got)
	}
}

// Anchors and merge keys are YAML's way to share settings; they must work on
// the node tree exactly as in YAML, explicit keys winning over merged ones.
func TestAnchorsAndMerge(t *testing.T) {
	inv := parse(t, `targets:
  a: &xyz
    vendor: xyz
    url: https://a.example
    vars: {site: x}
  b:
    <<: *xyz
    url: https://b.example
  c: {<<: [*xyz], vars: {site: y}}
`)
	got := map[string]string{}
	for _, tg := range inv.Targets {
		got[tg.Name] = tg.Vendor + " " + tg.URL + " " + tg.Vars["site"]
	}
	want := map[string]string{"a": "xyz https://a.example x", "b": "xyz https://b.example x", "c": "xyz https://a.example y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets = %v, want %v", got, want)
	}
}

func TestLoadResolvesPathsAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.yaml")
	src := "targets:\n  a: {vendor: xyz, url: http://127.0.0.1:8443, tls: {ca_file: ca.pem}, credentials: {PW: file:pw.txt}}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(path, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	a := inv.Targets[0]
	if inv.Dir != dir || a.CAFile != filepath.Join(dir, "ca.pem") || a.Credentials["PW"].Arg != filepath.Join(dir, "pw.txt") {
		t.Errorf("dir %q, ca_file %q, PW %q; want them in %q", inv.Dir, a.CAFile, a.Credentials["PW"].Arg, dir)
	}
	if a.Pos != path+":2" {
		t.Errorf("Pos = %q, want %q", a.Pos, path+":2")
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want ErrNotExist", err)
	}
}

func TestProxy(t *testing.T) {
	inv := parse(t, `targets:
  a: {vendor: xyz, url: https://a.example, proxy: http://proxy.dc1.example:3128}
  b:
    vendor: xyz
    url: https://b.example
    proxy: {url: http://proxy.dc2.example:3128, user: svc-proxy, password: env:PROXY_PASSWORD}
  c: {vendor: xyz, url: https://c.example, proxy: direct}
  d: {vendor: xyz, url: https://d.example}
`)
	got := map[string]*Proxy{}
	for _, tg := range inv.Targets {
		got[tg.Name] = tg.Proxy
	}
	if p := got["a"]; p == nil || p.URL != "http://proxy.dc1.example:3128" || p.User != "" || p.Password != nil {
		t.Errorf("a: %+v", p)
	}
	if p := got["b"]; p == nil || p.User != "svc-proxy" || p.Password == nil || p.Password.String() != "env:PROXY_PASSWORD" {
		t.Errorf("b: %+v", p)
	}
	if p := got["c"]; p == nil || p.URL != "direct" {
		t.Errorf("c: %+v", p)
	}
	if got["d"] != nil {
		t.Errorf("d has a proxy: %+v", got["d"])
	}
	b := inv.Targets[1]
	if pw, err := b.ProxyPassword(func(k string) (string, bool) { return "Px-pw", k == "PROXY_PASSWORD" }); err != nil || pw != "Px-pw" {
		t.Errorf("ProxyPassword: %q %v", pw, err)
	}
	if _, err := b.ProxyPassword(func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "fleet.yaml:6: target b: proxy password (env:PROXY_PASSWORD): environment variable PROXY_PASSWORD is not set") {
		t.Errorf("unset proxy password: %v", err)
	}
}

func TestProxyErrors(t *testing.T) {
	for _, tc := range []struct{ name, proxy, want string }{
		{"not a URL", "proxy.example:3128", `fleet.yaml:2: target "a": proxy: not a proxy URL (want http://HOST:PORT (or direct), alone or as url: beside user: and password:)`},
		{"password in the URL", "http://u:Canary-px-1@proxy.example:3128", `fleet.yaml:2: target "a": proxy: the URL must not carry a user or password (not shown); give user: and password: as env:VAR or file:PATH`},
		{"literal password", "{url: http://p.example:3128, user: u, password: Canary-px-2}", `fleet.yaml:2: target "a": proxy: password: a literal value (not shown) is not allowed in an inventory; keep the secret out of the file and reference it as env:VAR (an environment variable) or file:PATH (a file readable only by you)`},
		{"user without password", "{url: http://p.example:3128, user: u}", `fleet.yaml:2: target "a": proxy: user and password go together (the password as env:VAR or file:PATH)`},
		{"unknown key", "{url: http://p.example:3128, usr: u}", `fleet.yaml:2: unknown key "usr" in target "a": proxy (allowed: url, user, password) (did you mean user?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fleet.yaml", []byte("targets:\n  a: {vendor: xyz, url: https://a.example, proxy: "+tc.proxy+"}\n"), Options{KnownVendors: []string{"xyz"}})
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "Canary-px") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
