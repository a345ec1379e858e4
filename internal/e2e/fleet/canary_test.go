package fleet_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
	vcfsim "github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

// TestFleetCanaryPasswordsNeverLeak gives two VCF targets canary passwords,
// one through env: and one through a file: credential, that their
// simulators (and only they) accept. After apply, a second apply, dry-runs
// and listings, the canaries appear in no output and in no file under the
// test's temporary directories (the credential file aside), state database
// and journal included.
func TestFleetCanaryPasswordsNeverLeak(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	canaryEnv, canaryFile := "CanaryEnv-"+randHex(t), "CanaryFile-"+randHex(t)

	serve := func(pw string) (url, ca string, sim *vcfsim.Sim) {
		sim = vcfsim.New(vcfsim.Config{Users: map[string]string{vcfsim.DefaultUser: pw}})
		srv, ca := flowtest.ServeTLS(t, sim.Handler())
		sim.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
		return srv.URL, ca, sim
	}
	urlE, caE, simE := serve(canaryEnv)
	urlF, caF, simF := serve(canaryFile)

	pwFile := filepath.Join(root, "vcf.pw")
	if err := os.WriteFile(pwFile, []byte(canaryFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(root, "canary.yaml")
	yaml := `vars: {realm: flt-idb02, client_id: ci-bot, token_name: ci-bot-main}
targets:
  canary-env:
    vendor: vcf
    url: ` + urlE + `
    tls: {ca_file: ` + caE + `}
    credentials: {VCF_PASSWORD: env:TF_E2E_CANARY_PW}
  canary-file:
    vendor: vcf
    url: ` + urlF + `
    tls: {ca_file: ` + caF + `}
    credentials: {VCF_PASSWORD: file:vcf.pw}
`
	if err := os.WriteFile(inv, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, inv: inv, state: filepath.Join(root, "state"), vars: map[string]string{"TF_E2E_CANARY_PW": canaryEnv}}

	flow := flowtest.Flow("vcf/onboard.star")
	var outputs []result
	runOK := func(want int, args ...string) result {
		t.Helper()
		r := e.run(30*time.Second, args...)
		exitCode(t, r, want)
		outputs = append(outputs, r)
		return r
	}
	apply := runOK(0, "run", flow, "--targets", inv, "--json", "--verbose")
	lines, _ := parseJSON(t, apply.stdout)
	for _, n := range []string{"canary-env", "canary-file"} {
		if l := lines[n]; l.Status != "ok" || l.Outputs["token_action"] != "issued" {
			t.Fatalf("%s: %+v", n, l)
		}
	}
	// Only the canary opens these simulators: they were used.
	if len(simE.Tokens(realmID)) != 1 || len(simF.Tokens(realmID)) != 1 {
		t.Fatal("the canary targets were not onboarded")
	}
	runOK(0, "run", flow, "--targets", inv, "--dry-run", "--json", "--verbose")
	runOK(0, "run", flow, "--targets", inv, "--dry-run", "--verbose")
	runOK(0, "run", flow, "--targets", inv, "--verbose", "--log-level", "trace")
	runOK(0, "runs", "--json")
	runOK(0, "tokens", "--json")

	// A wrong password in the file: the failure must not echo either value.
	if err := os.WriteFile(pwFile, []byte(canaryFile+"-wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	failed := runOK(1, "run", flow, "--targets", inv, "--limit", "canary-file", "--json", "--verbose")
	if l, _ := parseJSON(t, failed.stdout); l["canary-file"].Status != "failed" {
		t.Fatalf("a wrong password did not fail:\n%s", failed)
	}

	needles := map[string][]byte{}
	for _, c := range []string{canaryEnv, canaryFile} {
		needles[c] = []byte(c)
		needles[c+" (base64 of user:password)"] = []byte(base64.StdEncoding.EncodeToString([]byte(vcfsim.DefaultUser + ":" + c)))
		needles[c+" (base64)"] = []byte(base64.StdEncoding.EncodeToString([]byte(c)))
	}
	for i, r := range outputs {
		for what, n := range needles {
			if bytes.Contains([]byte(r.stdout), n) || bytes.Contains([]byte(r.stderr), n) {
				t.Errorf("output %d shows %s:\n%s", i, what, r)
			}
		}
	}
	// Every file the runs could have written: the state directory (database,
	// WAL, key), the inventory's directory, the CA directories.
	scanned := 0
	err := filepath.WalkDir(filepath.Dir(root), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == pwFile {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for what, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds %s", path, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(filepath.Join(e.state, "state.db"))
	if err != nil || db.Size() == 0 || scanned < 4 {
		t.Fatalf("scanned %d files; state.db: %v", scanned, err)
	}
	t.Logf("%d files and %d outputs scanned for the canaries", scanned, len(outputs))
}

func randHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
