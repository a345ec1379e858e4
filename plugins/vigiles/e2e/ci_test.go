package vigiles

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
)

// The CI side of the Vigiles flows: credentials from the environment and a
// dashboard config, the CVE regression gate, the SBOM export, and scan.star's
// config files, extra fields and upload-only.

// ciVars are what a CI job passes: the key in an environment variable, its
// email, and the dashboard config file instead of product and folder tokens.
func (e *env) ciVars(extra ...string) (map[string]string, func(string) (string, bool)) {
	dash := e.write("vigiles-dashboard.json", `{"product": "`+sim.DefaultProductToken+`", "folder": "`+sim.DefaultFolderToken+`"}`, 0o644)
	v := map[string]string{"url": e.url, "key_env": "VIGILES_KEY", "email": canaryEmail, "dashboard_config": dash}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	env := map[string]string{"VIGILES_KEY": canaryKey}
	return v, func(k string) (string, bool) { s, ok := env[k]; return s, ok }
}

// uploadBuild scans a manifest through scan.star and returns its manifest token.
func (e *env) uploadBuild(t *testing.T, manifest string) string {
	t.Helper()
	vars, getenv := e.ciVars("manifest", testdata(manifest), "max_critical", "99")
	res, err := run(t, "scan.star", engine.Options{Vars: vars, Getenv: getenv})
	if err != nil {
		t.Fatalf("scan %s: %v", manifest, err)
	}
	return flowtest.Outputs(res)["manifest_token"].(string)
}

func TestGateFailsOnNewCriticalCVEs(t *testing.T) {
	e := start(t)
	release := e.uploadBuild(t, "manifest-fixed.json") // the baseline: no critical CVE

	// This build reintroduces the old openssl and zlib.
	vars, getenv := e.ciVars("manifest", testdata("manifest.json"), "baseline_manifest", release)
	_, err := run(t, "gate.star", engine.Options{Vars: vars, Getenv: getenv})
	var fe *engine.FlowError
	if !errors.As(err, &fe) || fe.Plan {
		t.Fatalf("gate: %v", err)
	}
	for _, want := range []string{
		"2 new critical CVEs since baseline report", "(allowed: 0)",
		"CVE-2022-1292 (openssl 3.0.2, CVSS 9.8)", "CVE-2022-37434 (zlib 1.2.11, CVSS 9.8)", "see " + e.url + "/vigiles/reports/",
	} {
		if !strings.Contains(fe.Msg, want) {
			t.Errorf("gate message lacks %q:\n%s", want, fe.Msg)
		}
	}
	assertNoCanary(t, "gate error", err.Error())
	ms := e.sim.Manifests()
	if len(ms) != 2 || ms[1].FolderToken != sim.DefaultFolderToken {
		t.Fatalf("the dashboard config's folder was not used: %+v", ms)
	}

	// Allowing two new critical CVEs passes, and lists them.
	vars["fail_on"], vars["max_new"] = "critical", "2"
	vars["manifest_token"], vars["manifest"] = ms[1].Token, ""
	res, err := run(t, "gate.star", engine.Options{Vars: vars, Getenv: getenv})
	if err != nil {
		t.Fatalf("gate with max_new=2: %v", err)
	}
	out := flowtest.Outputs(res)
	if failing, _ := json.Marshal(out["new_failing"]); !strings.Contains(string(failing), "CVE-2022-1292") || len(out["new"].([]any)) < 2 {
		t.Errorf("outputs = %v", out)
	}
	if w := len(e.sim.Manifests()); w != 2 {
		t.Errorf("a gate on manifest_token uploaded: %d manifests", w)
	}
}

func TestGatePassesWhenTheBuildResolvesCVEs(t *testing.T) {
	e := start(t)
	e.uploadBuild(t, "manifest.json")
	oldReport := e.sim.Manifests()[0].Reports[0].Token
	vars, getenv := e.ciVars("manifest", testdata("manifest-fixed.json"), "baseline", oldReport, "fail_on", "critical,high")
	res, err := run(t, "gate.star", engine.Options{Vars: vars, Getenv: getenv})
	if err != nil {
		t.Fatalf("gate on the fixed build: %v", err)
	}
	out := flowtest.Outputs(res)
	resolved, _ := json.Marshal(out["resolved"])
	if out["baseline"] != oldReport || !strings.Contains(string(resolved), "CVE-2022-1292") || len(out["new_failing"].([]any)) != 0 {
		t.Fatalf("outputs = %v", out)
	}

	// A dry-run against a manifest already uploaded only reads.
	fixed := e.sim.Manifests()[1].Token
	vars, getenv = e.ciVars("manifest_token", fixed, "baseline", oldReport)
	before := e.sim.Recorder().Writes()
	res, err = run(t, "gate.star", engine.Options{DryRun: true, Vars: vars, Getenv: getenv})
	if err != nil || res.Plan.Pending() != 0 || e.sim.Recorder().Writes() != before {
		t.Fatalf("dry-run gate: %v, pending %v", err, res)
	}

	vars, getenv = e.ciVars("manifest_token", fixed, "fail_on", "severe")
	vars["baseline"] = oldReport
	if _, err := run(t, "gate.star", engine.Options{Vars: vars, Getenv: getenv}); err == nil || !strings.Contains(err.Error(), `"severe" is not a severity`) {
		t.Errorf("bad fail_on: %v", err)
	}
	vars, getenv = e.ciVars("manifest_token", fixed)
	if _, err := run(t, "gate.star", engine.Options{Vars: vars, Getenv: getenv}); err == nil || !strings.Contains(err.Error(), "--var baseline=") {
		t.Errorf("no baseline: %v", err)
	}
}

func TestSBOMExport(t *testing.T) {
	e := start(t)
	tok := e.uploadBuild(t, "manifest.json")
	// The key file's content in an environment variable (a CI secret), no file.
	kf, _ := json.Marshal(map[string]string{"email": canaryEmail, "key": canaryKey})
	getenv := func(k string) (string, bool) { return string(kf), k == "VIGILES_KEY_FILE_JSON" }
	for _, tt := range []struct{ format, file, want string }{
		{"spdx", "sbom.spdx.json", `"spdxVersion":"SPDX-2.3"`},
		{"cyclonedx", "sbom.cdx.json", `"bomFormat":"CycloneDX"`},
		{"spdx-lite", "sbom.spdx", "SPDXVersion: SPDX-2.3"},
	} {
		out := filepath.Join(e.dir, tt.file)
		res, err := run(t, "sbom.star", engine.Options{Getenv: getenv, Vars: e.vars("key_file", "env:VIGILES_KEY_FILE_JSON",
			"manifest_token", tok, "format", tt.format, "out", out)})
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		b, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(b), tt.want) || !strings.Contains(string(b), "openssl") {
			t.Fatalf("%s: %v\n%.300s", tt.format, err, b)
		}
		if o := flowtest.Outputs(res); o["size"] != int64(len(b)) {
			t.Errorf("%s outputs = %v", tt.format, o)
		}
		assertNoCanary(t, tt.file, string(b))
	}
	// A dry-run sends the export (a read) and plans only the file write.
	out := filepath.Join(e.dir, "dry.json")
	res, err := run(t, "sbom.star", engine.Options{DryRun: true, Vars: e.vars("manifest_token", tok, "out", out)})
	if err != nil || res.Plan.Pending() != 1 || e.sim.Recorder().Count("GET", "/api/v1/vigiles/manifests/"+tok) == 0 {
		t.Fatalf("dry-run export: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a dry-run wrote the SBOM")
	}
}

func TestScanConfigsExtrasAndUploadOnly(t *testing.T) {
	e := start(t)
	kcfg := e.write("kernel.config", "CONFIG_NETFILTER=y\n", 0o644)
	ucfg := e.write("uboot.config", "CONFIG_CMD_NET=y\n", 0o644)
	res, err := run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest.json"), "max_critical", "2",
		"kernel_config", kcfg, "uboot_config", ucfg, "extra_fields", "impact, problem_types")})
	if err != nil {
		t.Fatal(err)
	}
	ms := e.sim.Manifests()
	if len(ms) != 1 || ms[0].KernelConfig != "CONFIG_NETFILTER=y\n" || ms[0].UBootConfig != "CONFIG_CMD_NET=y\n" {
		t.Fatalf("configs did not arrive: %+v", ms)
	}
	if flowtest.Outputs(res)["critical"] != int64(2) {
		t.Errorf("outputs = %v", flowtest.Outputs(res))
	}

	res, err = run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest.json"), "upload_only", "true")})
	if err != nil {
		t.Fatalf("upload_only: %v", err)
	}
	out := flowtest.Outputs(res)
	if ms := e.sim.Manifests(); len(ms) != 2 || len(ms[1].Reports) != 0 || out["manifest_token"] != ms[1].Token || out["critical"] != nil {
		t.Fatalf("upload_only: outputs %v, manifests %+v", out, ms)
	}
	if _, err := run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest.json"), "extra_fields", "severity")}); err == nil ||
		!strings.Contains(err.Error(), `"severity" is not an extra CVE field`) {
		t.Errorf("bad extra field: %v", err)
	}
}
