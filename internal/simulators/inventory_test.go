package simulators

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestWriteInventory(t *testing.T) {
	dir := t.TempDir()
	f, err := StartFleet(nil, 2, true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(dir, "inventory.yaml")
	if err := f.WriteInventory(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("inventory mode %v, want 0600", st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range All() {
		if e.PasswordEnv != "" && strings.Contains(string(raw), e.Password) {
			t.Fatalf("the inventory holds the %s password", e.Vendor)
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse the inventory back: %v\n%s", err, raw)
	}
	if len(doc) != 1 || doc["groups"] == nil {
		t.Fatalf("top-level keys %v, want only groups", keys(doc))
	}
	groups := doc["groups"].(map[string]any)
	if len(groups) != len(All()) {
		t.Fatalf("groups %v, want one per vendor", keys(groups))
	}
	allowed := map[string]bool{"vendor": true, "url": true, "tls": true, "credentials": true, "labels": true, "vars": true}
	for _, r := range f.Instances {
		g := groups[r.Vendor].(map[string]any)
		target, ok := g["targets"].(map[string]any)[r.Name].(map[string]any)
		if !ok {
			t.Fatalf("no target %s in group %s", r.Name, r.Vendor)
		}
		for k := range target {
			if !allowed[k] {
				t.Fatalf("%s: key %q is not in the spec", r.Name, k)
			}
		}
		if target["vendor"] != r.Vendor || target["url"] != r.Server.URL {
			t.Fatalf("%s: vendor %v url %v", r.Name, target["vendor"], target["url"])
		}
		// The CA sits beside the inventory: a relative path.
		if ca := target["tls"].(map[string]any)["ca_file"]; ca != "ca.pem" {
			t.Fatalf("%s: ca_file %v, want ca.pem", r.Name, ca)
		}
		creds := target["credentials"].(map[string]any)
		for name, ref := range creds {
			s, _ := ref.(string)
			if !strings.HasPrefix(s, "env:") && !strings.HasPrefix(s, "file:") {
				t.Fatalf("%s: credential %s = %v is not a reference", r.Name, name, ref)
			}
		}
		if r.PasswordEnv != "" && creds[r.PasswordEnv] != "env:"+r.PasswordEnv {
			t.Fatalf("%s: credentials %v, want %s: env:%s", r.Name, creds, r.PasswordEnv, r.PasswordEnv)
		}
	}
	vigiles := groups["vigiles"].(map[string]any)["targets"].(map[string]any)["vigiles-2"].(map[string]any)
	if got := vigiles["credentials"].(map[string]any)["key_file"]; got != "file:vigiles-2/linuxlink_key" {
		t.Fatalf("vigiles key_file credential %v", got)
	}
	vcfVars := groups["vcf"].(map[string]any)["vars"].(map[string]any)
	for k, want := range map[string]string{"realm": "flt-idb02", "client_id": "ci-bot", "token_name": "ci-bot-main"} {
		if vcfVars[k] != want {
			t.Fatalf("vcf group var %s = %v, want %s", k, vcfVars[k], want)
		}
	}
	if groups["bigip"].(map[string]any)["vars"].(map[string]any)["username"] != "automation" {
		t.Fatalf("bigip group vars %v", groups["bigip"].(map[string]any)["vars"])
	}
	hx := groups["hyperflex"].(map[string]any)["targets"].(map[string]any)["hyperflex-1"].(map[string]any)
	tokenFile := hx["vars"].(map[string]any)["token_file"].(string)
	if st, err := os.Stat(filepath.Dir(tokenFile)); err != nil || !st.IsDir() || !filepath.IsAbs(tokenFile) {
		t.Fatalf("hyperflex token_file %q: its directory must exist (%v)", tokenFile, err)
	}
	if env := f.Env(); env["VCF_PASSWORD"] == "" || env["TURBO_SA_PASSWORD"] == "" {
		t.Fatalf("Env() = %v", keys(env))
	}
}

// An inventory elsewhere names the CA and key files by absolute path.
func TestWriteInventoryElsewhere(t *testing.T) {
	dir := t.TempDir()
	f, err := StartFleet([]string{"vigiles"}, 1, true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := f.WriteInventory(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var doc struct {
		Groups map[string]struct {
			Targets map[string]struct {
				TLS struct {
					CAFile string `yaml:"ca_file"`
				}
				Credentials map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tg := doc.Groups["vigiles"].Targets["vigiles-1"]
	if tg.TLS.CAFile != filepath.Join(dir, "ca.pem") || tg.Credentials["key_file"] != "file:"+filepath.Join(dir, "vigiles-1", "linuxlink_key") {
		t.Fatalf("ca_file %q key_file %q, want absolute paths", tg.TLS.CAFile, tg.Credentials["key_file"])
	}
	if err := f.WriteInventory(filepath.Join(dir, "missing", "x.yaml")); err == nil || !strings.Contains(err.Error(), "write inventory") {
		t.Fatalf("writing into a missing directory: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
