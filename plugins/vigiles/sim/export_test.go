package sim_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
)

func upload(t *testing.T, s *sim.Sim, name string, extra url.Values) map[string]any {
	t.Helper()
	p := url.Values{"manifest": {manifest(t, name)}}
	for k, v := range extra {
		p[k] = v
	}
	var r map[string]any
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", p, 200).json(t, &r)
	return r
}

func reportToken(r map[string]any) string {
	return strings.TrimPrefix(r["report_path"].(string), "/vigiles/reports/")
}

// Each format the toolkit's download_report accepts comes back as a real
// file of that kind with its content type.
func TestReportDownloadFormats(t *testing.T) {
	s := newSim(t)
	tok := reportToken(upload(t, s, "manifest.json", nil))
	get := func(format string) (string, []byte) {
		req := signedRequest(http.MethodGet, "/api/v1/vigiles/reports/"+tok, sim.DefaultEmail, sim.DefaultKey, url.Values{"format": {format}, "filtered": {"False"}})
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d: %s", format, rec.Code, rec.Body)
		}
		return rec.Header().Get("Content-Type"), rec.Body.Bytes()
	}

	ct, body := get("csv")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if ct != "text/csv" || err != nil || len(rows) != 12 || strings.Join(rows[0], ",") != "package,version,cve_id,cvss,status" {
		t.Errorf("csv: %s, %v, %d rows:\n%s", ct, err, len(rows), body)
	}

	for _, f := range []string{"pdf", "pdfsummary"} {
		ct, body := get(f)
		if ct != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(body, []byte("%%EOF\n")) ||
			!bytes.Contains(body, []byte("critical 2, high 6, medium 2, low 0")) {
			t.Errorf("%s: %s\n%s", f, ct, body)
		}
		// startxref points at the xref table.
		i := bytes.LastIndex(body, []byte("startxref\n"))
		var off int
		if _, err := fmt.Sscan(string(body[i+len("startxref\n"):]), &off); err != nil || !bytes.HasPrefix(body[off:], []byte("xref\n")) {
			t.Errorf("%s: startxref %d does not point at xref (%v)", f, off, err)
		}
		if has := bytes.Contains(body, []byte("CVE-2022-37434")); has == (f == "pdfsummary") {
			t.Errorf("%s: lists findings = %v", f, has)
		}
	}

	ct, body = get("xlsx")
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || err != nil {
		t.Fatalf("xlsx: %s, %v", ct, err)
	}
	names := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		names[f.Name] = string(b)
	}
	if _, ok := names["[Content_Types].xml"]; !ok || !strings.Contains(names["xl/worksheets/sheet1.xml"], "CVE-2022-37434") {
		t.Errorf("xlsx parts: %v", names)
	}
	if _, b := get("xlsx"); !bytes.Equal(b, body) {
		t.Error("xlsx is not deterministic")
	}

	a := do(t, s, http.MethodGet, "/api/v1/vigiles/reports/"+tok, url.Values{"format": {"docx"}}, http.StatusBadRequest)
	if !strings.Contains(string(a.body), "csv, pdf, pdfsummary, xlsx") {
		t.Errorf("bad format: %s", a.body)
	}
}

// with_field extras are in every CVE of upload, rescan and latest report.
func TestWithFieldExtras(t *testing.T) {
	s := newSim(t)
	fields := url.Values{"with_field": {"impact", "assigner", "modified", "problem_types"}}
	check := func(where string, r map[string]any) {
		t.Helper()
		cves := r["cves"].(map[string]any)
		openssl := cves["openssl"].([]any)
		var c map[string]any
		for _, x := range openssl {
			if x.(map[string]any)["cve_id"] == "CVE-2022-1292" {
				c = x.(map[string]any)
			}
		}
		if c == nil || c["assigner"] != "openssl-security@openssl.org" || c["modified"] != "2023-11-07" ||
			c["problem_types"].([]any)[0] != "CWE-78" {
			t.Fatalf("%s: CVE-2022-1292 = %v", where, c)
		}
		v3 := c["impact"].(map[string]any)["baseMetricV3"].(map[string]any)["cvssV3"].(map[string]any)
		if v3["baseScore"] != 9.8 || v3["baseSeverity"] != "CRITICAL" {
			t.Fatalf("%s: impact = %v", where, c["impact"])
		}
		if _, ok := c["description"]; ok {
			t.Fatalf("%s: description sent without being asked for: %v", where, c)
		}
	}
	r := upload(t, s, "manifest.json", fields)
	check("upload", r)
	tok := r["manifest_token"].(string)
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests/"+tok+"/reports", url.Values{"manifest": {tok}, "with_field": fields["with_field"]}, 200).json(t, &r)
	check("rescan", r)
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok+"/reports/latest", fields, 200).json(t, &r)
	check("latest", r)
	// Without with_field, no extras.
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok+"/reports/latest", nil, 200).json(t, &r)
	if c := r["cves"].(map[string]any)["zlib"].([]any)[0].(map[string]any); c["impact"] != nil || c["assigner"] != nil {
		t.Errorf("extras without with_field: %v", c)
	}
}

// Upload and rescan answer with exported_manifest (SPDX); GET manifest
// converts with sbom_format, and the export scans the same as the original.
func TestExportedManifestAndSBOMFormats(t *testing.T) {
	s := newSim(t)
	r := upload(t, s, "manifest.json", url.Values{"manifest_name": {"gw"}})
	tok := r["manifest_token"].(string)
	spdx, ok := r["exported_manifest"].(map[string]any)
	if !ok || spdx["spdxVersion"] != "SPDX-2.3" || len(spdx["packages"].([]any)) == 0 {
		t.Fatalf("exported_manifest = %v", r["exported_manifest"])
	}
	var latest map[string]any
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok+"/reports/latest", nil, 200).json(t, &latest)
	if _, ok := latest["exported_manifest"]; ok {
		t.Error("latest report carries exported_manifest; the toolkit lists it for upload and rescan only")
	}

	var info map[string]any
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok, url.Values{"sbom_format": {"spdx"}}, 200).json(t, &info)
	if d, ok := info["manifest_data"].(map[string]any); !ok || d["SPDXID"] != "SPDXRef-DOCUMENT" || info["manifest_name"] != "gw" {
		t.Fatalf("info spdx = %v", info)
	}
	cdx := do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok, url.Values{"sbom_format": {"cyclonedx"}, "sbom_version": {"1.5"}, "send_file": {"True"}}, 200)
	if !strings.Contains(string(cdx.body), `"bomFormat":"CycloneDX"`) || !strings.Contains(string(cdx.body), `"specVersion":"1.5"`) {
		t.Fatalf("cyclonedx = %s", cdx.body)
	}
	tv := do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok, url.Values{"sbom_format": {"spdx-lite"}, "send_file": {"True"}}, 200)
	if !strings.HasPrefix(string(tv.body), "SPDXVersion: SPDX-2.3\n") || !strings.Contains(string(tv.body), "PackageName: openssl\n") {
		t.Fatalf("spdx-lite = %s", tv.body)
	}
	for _, bad := range []url.Values{
		{"sbom_format": {"swid"}}, {"sbom_format": {"cyclonedx"}, "sbom_version": {"0.9"}},
		{"sbom_version": {"2.3"}}, {"sbom_format": {"spdx"}, "file_format": {"rdf"}},
	} {
		do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok, bad, http.StatusBadRequest)
	}

	// Both exports, uploaded again, find every CVE the original found (the
	// export keeps packages and versions; patches and whitelist are the
	// manifest's own and do not travel).
	want := cveIDs(r)
	for _, doc := range []string{string(cdx.body), spdxFile(t, s, tok)} {
		var again map[string]any
		do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {doc}}, 200).json(t, &again)
		got := cveIDs(again)
		for id := range want {
			if !got[id] {
				t.Errorf("re-upload of an export misses %s: %v", id, got)
			}
		}
	}
}

func cveIDs(r map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, list := range r["cves"].(map[string]any) {
		for _, c := range list.([]any) {
			out[c.(map[string]any)["cve_id"].(string)] = true
		}
	}
	return out
}

func spdxFile(t *testing.T, s *sim.Sim, tok string) string {
	t.Helper()
	return string(do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok, url.Values{"sbom_format": {"spdx"}, "send_file": {"True"}}, 200).body)
}
