package intree

import (
	"errors"
	"fmt"
	"github.com/tokenflow/tokenflow/internal/demo"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
)

// vigilesManifest is a small Yocto image manifest with known CVEs (openssl
// 3.0.2 and zlib 1.2.11 carry a critical one each); vigilesFixedManifest is
// the same image after the upgrades.
const (
	vigilesManifest = `{
  "image": "core-image-gateway", "machine": "imx8mm-evk", "manifest_version": "1.4",
  "packages": {
    "busybox": {"version": "1.35.0"},
    "openssl": {"version": "3.0.2", "cve_product": "openssl:openssl", "patches": ["CVE-2022-3602.patch"]},
    "sqlite3": {"version": "3.38.5", "cve_product": "sqlite"},
    "zlib": {"version": "1.2.11"}
  }
}
`
	vigilesFixedManifest = `{
  "image": "core-image-gateway", "machine": "imx8mm-evk", "manifest_version": "1.4",
  "packages": {
    "busybox": {"version": "1.36.1"},
    "openssl": {"version": "3.0.13", "cve_product": "openssl:openssl"},
    "sqlite3": {"version": "3.40.1", "cve_product": "sqlite"},
    "zlib": {"version": "1.3.1"}
  }
}
`
)

var scenario = demo.Scenario{Vendor: "vigiles", Order: 50, Run: func(e *demo.Env) error {
	r := e.Sim("vigiles")
	s := r.Sim.(*sim.Sim)
	dir, err := os.MkdirTemp("", "tokenflow-demo-vigiles-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "linuxlink_key")
	if err := s.WriteKeyFile(keyFile, sim.DefaultEmail); err != nil {
		return err
	}
	manifest := filepath.Join(dir, "manifest.json")
	fixed := filepath.Join(dir, "manifest-fixed.json")
	for path, content := range map[string]string{manifest: vigilesManifest, fixed: vigilesFixedManifest} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	vars := map[string]string{
		"url": r.Server.URL, "ca_file": e.CAFile, "key_file": keyFile,
		"product": sim.DefaultProductToken, "folder": sim.DefaultFolderToken,
	}
	with := func(kv ...string) map[string]string {
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return v
	}

	e.Say("Timesys Vigiles has no login: every request is signed with HMAC-SHA256 over method, path and")
	e.Say("sorted parameters, keyed by the key file's key. The key file (mode 0600) is read with")
	e.Say("file.read_secret; the simulator rebuilds each message and answers 403 on any mismatch.")
	if _, err := e.Run("Vigiles heartbeat", "vigiles/heartbeat.star", vars, nil, false); err != nil {
		return err
	}

	e.Say("")
	e.Say("Plan a CI scan: the upload is held; the plan shows the message that would be signed")
	e.Say("(hmac_msg) and masks the signature. The CVE gate waits for the report, known after apply.")
	if _, err := e.Run("Vigiles scan plan", "vigiles/scan.star", with("manifest", manifest), nil, true); err != nil {
		return err
	}
	if w := s.Recorder().Writes(); w != 0 {
		return fmt.Errorf("the dry-run sent %d writes to the simulator", w)
	}
	e.Say("The simulator received 0 writes during the dry-run.")

	_, err = e.Run("Vigiles scan gate", "vigiles/scan.star", with("manifest", manifest, "max_critical", "0"), nil, false)
	if err == nil {
		return errors.New("the scan gate passed a build with critical CVEs")
	}
	msg := err.Error()
	if i := strings.Index(msg, "fail: "); i >= 0 {
		msg = msg[i+len("fail: "):]
	}
	e.Say("The gate failed the build, as it should: %s", msg)

	e.Say("")
	e.Say("After upgrading openssl and zlib, the same gate passes.")
	if _, err := e.Run("Vigiles scan gate", "vigiles/scan.star", with("manifest", fixed, "max_critical", "0"), nil, false); err != nil {
		return err
	}
	if n := s.SignatureFailures(); n != 0 {
		return fmt.Errorf("the simulator rejected %d signatures", n)
	}
	return nil
}}
