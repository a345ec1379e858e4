package ops_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func TestReportOps(t *testing.T) {
	f := newFixture(t)
	up := f.call("upload_manifest", map[string]any{
		"manifest": readManifest(t, "manifest.json"), "extra_fields": []any{"impact", "assigner", "modified", "problem_types"},
	})
	tok := up["manifest_token"].(string)

	// The extras are in the result, not dropped.
	var seen bool
	for _, c := range up["cves"].([]any) {
		c := c.(map[string]any)
		if c["cve_id"] != "CVE-2022-1292" {
			continue
		}
		seen = true
		if c["assigner"] != "openssl-security@openssl.org" || c["modified"] != "2023-11-07" || c["problem_types"].([]any)[0] != "CWE-78" ||
			c["impact"].(map[string]any)["baseMetricV3"] == nil {
			t.Errorf("extras of CVE-2022-1292 = %v", c)
		}
	}
	if !seen {
		t.Fatal("no CVE-2022-1292 in the upload's cves")
	}
	if em := up["exported_manifest"].(string); !strings.Contains(em, `"spdxVersion": "SPDX-2.3"`) {
		t.Errorf("exported_manifest = %.200s", em)
	}
	f.fail("latest_report", map[string]any{"manifest_token": tok, "extra_fields": []any{"severity"}}, sdk.CodeInvalidArgument)

	re := f.call("rescan", map[string]any{"manifest_token": tok, "extra_fields": []any{"description"}})
	if re["report_token"] == up["report_token"] || re["report_token"] == "" || num(re["critical"]) != 2 || re["exported_manifest"] == "" {
		t.Fatalf("rescan = %v", re)
	}
	if c := re["cves"].([]any)[0].(map[string]any); c["description"] == nil || c["impact"] != nil {
		t.Errorf("rescan cve extras = %v", c)
	}
	list := f.call("list_reports", map[string]any{"manifest_token": tok})
	if rs := list["reports"].([]any); len(rs) != 2 || list["latest"] != re["report_token"] ||
		rs[0].(map[string]any)["report_token"] != up["report_token"] {
		t.Fatalf("list_reports = %v", list)
	}

	for _, tt := range []struct{ format, ct, magic string }{
		{"csv", "text/csv", "package,version,cve_id"},
		{"pdf", "application/pdf", "%PDF-"},
		{"pdfsummary", "application/pdf", "%PDF-"},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04"},
	} {
		d := f.call("download_report", map[string]any{"report_token": re["report_token"], "format": tt.format})
		raw, err := base64.StdEncoding.DecodeString(d["content_base64"].(string))
		sum := sha256.Sum256(raw)
		if err != nil || d["content_type"] != tt.ct || !bytes.HasPrefix(raw, []byte(tt.magic)) || num(d["size"]) != int64(len(raw)) ||
			d["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %v (%v)", tt.format, d, err)
		}
		if (d["content"] != "") != (tt.format == "csv") {
			t.Errorf("%s: content = %.80q", tt.format, d["content"])
		}
		if tt.format == "xlsx" {
			if _, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw))); err != nil {
				t.Errorf("xlsx is not a zip: %v", err)
			}
		}
	}
	f.fail("download_report", map[string]any{"report_token": re["report_token"], "format": "docx"}, sdk.CodeInvalidArgument)

	// The regression gate: the fixed build resolves the critical CVEs and
	// brings none; the old build against the fixed one brings them back.
	fixed := f.call("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest-fixed.json")})
	cmp := f.call("compare_reports", map[string]any{"token_one": up["report_token"], "token_two": fixed["report_token"]})
	resolved := strings.Join(toStrings(cmp["resolved"]), ",")
	if !strings.Contains(resolved, "CVE-2022-1292") || !strings.Contains(resolved, "CVE-2022-37434") || num(cmp["resolved_count"]) != int64(len(cmp["resolved"].([]any))) {
		t.Errorf("compare old->fixed = %v", cmp)
	}
	back := f.call("compare_reports", map[string]any{"token_one": fixed["report_token"], "token_two": up["report_token"]})
	if strings.Join(toStrings(back["new"]), ",") != resolved || num(back["resolved_count"]) != num(cmp["new_count"]) {
		t.Errorf("compare fixed->old = %v, want new = %s", back, resolved)
	}
	f.fail("compare_reports", map[string]any{"token_one": up["report_token"], "token_two": "0123456789abcdef0123456789abcdef"}, sdk.CodeNotFound)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestExportSBOM(t *testing.T) {
	f := newFixture(t)
	tok := f.call("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json"), "upload_only": true})["manifest_token"]
	spdx := f.call("export_sbom", map[string]any{"manifest_token": tok})
	if !strings.Contains(spdx["content"].(string), `"spdxVersion":"SPDX-2.3"`) || num(spdx["packages"]) < 5 {
		t.Errorf("spdx = %v", spdx)
	}
	cdx := f.call("export_sbom", map[string]any{"manifest_token": tok, "sbom_format": "cyclonedx", "sbom_version": "1.5"})
	if !strings.Contains(cdx["content"].(string), `"specVersion":"1.5"`) || num(cdx["packages"]) != num(spdx["packages"]) {
		t.Errorf("cyclonedx = %v", cdx)
	}
	tv := f.call("export_sbom", map[string]any{"manifest_token": tok, "sbom_format": "spdx-lite"})
	if !strings.HasPrefix(tv["content"].(string), "SPDXVersion: ") || num(tv["packages"]) != -1 {
		t.Errorf("spdx-lite = %v", tv)
	}
	f.fail("export_sbom", map[string]any{"manifest_token": tok, "sbom_format": "swid"}, sdk.CodeInvalidArgument)
	f.fail("export_sbom", map[string]any{"manifest_token": tok, "sbom_format": "cyclonedx", "sbom_version": "0.1"}, sdk.CodeInvalidArgument)
}

// CI credentials: email and key (a secret variable) instead of a key file,
// and the dashboard config's product and folder as defaults.
func TestEmailKeyAndDashboardConfig(t *testing.T) {
	f := newFixture(t)
	f.conn = map[string]any{
		"url": f.srv.URL, "email": canaryEmail, "key": canaryKey + "\n",
		"dashboard_config": `{"product": "` + sim.DefaultProductToken + `", "folder": "` + sim.DefaultFolderToken + `"}`,
	}
	if hb := f.call("heartbeat", nil); hb["email"] != canaryEmail {
		t.Fatalf("heartbeat = %v", hb)
	}
	up := f.call("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json"), "upload_only": true})
	if up["product_token"] != sim.DefaultProductToken || up["folder_token"] != sim.DefaultFolderToken {
		t.Fatalf("upload went to %v / %v, not the dashboard config's product and folder", up["product_token"], up["folder_token"])
	}
	// The successor's "group" wins over "product".
	f.conn["dashboard_config"] = `{"group": "` + sim.DefaultProductToken + `", "product": "nope"}`
	if got := f.call("list_folders", nil)["folders"].([]any); len(got) != 1 {
		t.Errorf("folders of the group = %v", got)
	}

	for _, tt := range []struct {
		conn  map[string]any
		param string
	}{
		{map[string]any{"email": canaryEmail}, "key"},
		{map[string]any{"key": canaryKey}, "email"},
		{map[string]any{}, "key_file"},
		{map[string]any{"key_file": keyFile(canaryEmail, canaryKey), "key": canaryKey}, "key_file"},
		{map[string]any{"email": canaryEmail, "key": canaryKey, "dashboard_config": `{"folder": "x"}`}, "dashboard_config"},
		{map[string]any{"email": canaryEmail, "key": canaryKey, "dashboard_config": `[1]`}, "dashboard_config"},
	} {
		f.conn = map[string]any{"url": f.srv.URL}
		for k, v := range tt.conn {
			f.conn[k] = v
		}
		e := f.fail("heartbeat", nil, sdk.CodeInvalidArgument)
		if e.Param != tt.param {
			t.Errorf("%v: param %q (%s), want %q", tt.conn, e.Param, e.Message, tt.param)
		}
	}
}
