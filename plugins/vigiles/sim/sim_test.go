package sim_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestHeartbeatOfTheToolkitReadme(t *testing.T) {
	s := newSim(t)
	// The README's dry-run shows hmac_msg POST/api/v1/heartbeatemail=user@example.com.
	req := signedRequest(http.MethodPost, "/api/v1/heartbeat", sim.DefaultEmail, sim.DefaultKey, nil)
	if want := hmacB64(sim.DefaultKey, "POST/api/v1/heartbeatemail=user@example.com"); req.Header.Get("X-Auth-Signature") != want {
		t.Fatal("test signer disagrees with the README message")
	}
	a := serve(s, req)
	var out map[string]any
	a.json(t, &out)
	if a.status != 200 || out["ok"] != true {
		t.Fatalf("heartbeat: %d %s", a.status, a.body)
	}
	do(t, s, http.MethodPost, "/api/v1/vigiles/heartbeat", nil, 200)
	do(t, s, http.MethodGet, "/api/v1/heartbeat", nil, http.StatusMethodNotAllowed)
	if w := s.Recorder().Writes(); w != 0 {
		t.Fatalf("heartbeats counted as %d writes", w)
	}
}

func TestSignatureIsVerified(t *testing.T) {
	s := newSim(t)
	p := url.Values{"product_token": {sim.DefaultProductToken}}
	good := func() *http.Request {
		return signedRequest(http.MethodGet, "/api/v1/vigiles/folders", sim.DefaultEmail, sim.DefaultKey, p)
	}
	if a := serve(s, good()); a.status != 200 {
		t.Fatalf("good request: %d %s", a.status, a.body)
	}
	cases := map[string]*http.Request{
		"wrong key":     signedRequest(http.MethodGet, "/api/v1/vigiles/folders", sim.DefaultEmail, "not-the-key", p),
		"unknown email": signedRequest(http.MethodGet, "/api/v1/vigiles/folders", "who@example.com", sim.DefaultKey, p),
	}
	r := good()
	r.Header.Del("X-Auth-Signature")
	cases["no signature"] = r
	r = good()
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, sim.DefaultProductToken[:4], "ffff", 1)
	cases["parameter changed"] = r
	r = good()
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "email=user%40example.com", "email=user%40example.com&extra=1", 1)
	cases["parameter added"] = r
	r = good()
	sig := []byte(r.Header.Get("X-Auth-Signature"))
	sig[3] ^= 1
	r.Header.Set("X-Auth-Signature", string(sig))
	cases["signature byte flipped"] = r
	n := 0
	for name, req := range cases {
		a := serve(s, req)
		if a.status != http.StatusForbidden || !strings.Contains(string(a.body), "Invalid credentials") {
			t.Errorf("%s: %d %s, want 403 invalid credentials", name, a.status, a.body)
		}
		n++
	}
	if got := s.SignatureFailures(); got != n {
		t.Errorf("SignatureFailures = %d, want %d", got, n)
	}
}

func TestRepeatedValuesAreSortedForTheMessageOnly(t *testing.T) {
	s := newSim(t)
	up := do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {manifest(t, "manifest.json")}, "upload_only": {"True"}}, 200)
	var m map[string]any
	up.json(t, &m)
	// with_field values go on the wire unsorted; the message sorts them.
	req := signedRequest(http.MethodGet, "/api/v1/vigiles/manifests/"+m["manifest_token"].(string)+"/reports/latest", sim.DefaultEmail, sim.DefaultKey,
		url.Values{"with_field": {"references", "description"}, "filtered": {"False"}})
	if !strings.Contains(req.URL.RawQuery, "with_field=references&with_field=description") {
		t.Fatalf("query %q does not keep the given order", req.URL.RawQuery)
	}
	if a := serve(s, req); a.status != http.StatusNotFound { // signed fine; no report yet
		t.Fatalf("got %d %s, want 404 (no report for an upload_only manifest)", a.status, a.body)
	}
}

func TestPOSTReadsTheFormNotTheQuery(t *testing.T) {
	s := newSim(t)
	req := signedRequest(http.MethodPost, "/api/v1/vigiles/products", sim.DefaultEmail, sim.DefaultKey, url.Values{"name": {"X"}})
	req.URL.RawQuery = "name=Y" // not signed, not read
	a := serve(s, req)
	var p map[string]any
	a.json(t, &p)
	if a.status != 200 || p["name"] != "X" {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestScanIsDeterministic(t *testing.T) {
	s := newSim(t)
	a := do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{
		"manifest": {manifest(t, "manifest.json")}, "product_token": {sim.DefaultProductToken},
		"folder_token": {sim.DefaultFolderToken}, "filter_results": {"False"}, "upload_only": {"False"},
		"with_field": {"description"},
	}, 200)
	var rep struct {
		ManifestToken string                      `json:"manifest_token"`
		ManifestName  string                      `json:"manifest_name"`
		FolderToken   string                      `json:"folder_token"`
		ReportPath    string                      `json:"report_path"`
		CVEs          map[string][]map[string]any `json:"cves"`
		Counts        struct {
			Unfixed, Unapplied, Fixed, Upgradable, Whitelisted int
			Kernel, Toolchain                                  map[string]int
			CVSSCounts                                         map[string]any `json:"cvss_counts"`
		} `json:"counts"`
	}
	a.json(t, &rep)
	if rep.ManifestName != "core-image-gateway" || rep.FolderToken != sim.DefaultFolderToken || !strings.HasPrefix(rep.ReportPath, "/vigiles/reports/") {
		t.Errorf("report header = %+v", rep)
	}
	c := rep.Counts
	if c.Unfixed != 9 || c.Unapplied != 1 || c.Fixed != 1 || c.Upgradable != 9 || c.Whitelisted != 0 {
		t.Errorf("counts = %+v, want unfixed 9, unapplied 1, fixed 1, upgradable 9", c)
	}
	if c.Kernel["unfixed"] != 1 || c.Toolchain["unfixed"] != 1 {
		t.Errorf("kernel %v toolchain %v, want one unfixed each", c.Kernel, c.Toolchain)
	}
	crit := c.CVSSCounts["critical"].(map[string]any)
	high := c.CVSSCounts["high"].(map[string]any)
	if crit["unfixed"] != 2.0 || high["unfixed"] != 6.0 || high["fixed"] != 1.0 {
		t.Errorf("cvss_counts = %v", c.CVSSCounts)
	}
	var openssl []string
	for _, cve := range rep.CVEs["openssl"] {
		openssl = append(openssl, cve["cve_id"].(string)+" "+cve["status"].(string))
		if cve["description"] == nil {
			t.Errorf("%v: with_field=description not honoured", cve["cve_id"])
		}
	}
	want := "CVE-2022-1292 Unfixed,CVE-2022-3602 Fixed,CVE-2023-0286 Unfixed,CVE-2023-2650 Unfixed,CVE-2023-5678 Unfixed"
	if got := strings.Join(openssl, ","); got != want {
		t.Errorf("openssl findings = %s\nwant %s", got, want)
	}
	if bb := rep.CVEs["busybox"]; len(bb) != 1 || bb[0]["status"] != "Unfixed, Patch Available" {
		t.Errorf("busybox = %v", bb)
	}
	m, ok := s.Manifest(rep.ManifestToken)
	if !ok || len(m.Reports) != 1 || m.Reports[0].Critical() != 2 {
		t.Fatalf("sim state: %+v", m)
	}

	// The upgraded build has no critical CVE left.
	a = do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {manifest(t, "manifest-fixed.json")}, "product_token": {sim.DefaultProductToken}}, 200)
	a.json(t, &rep)
	if m, _ := s.Manifest(rep.ManifestToken); m.Reports[0].Critical() != 0 || rep.Counts.Fixed != 1 {
		t.Errorf("fixed build: critical %d, counts %+v", m.Reports[0].Critical(), rep.Counts)
	}
}

func TestUploadPlacesManifests(t *testing.T) {
	s := newSim(t)
	mf := manifest(t, "manifest.json")
	var r map[string]any
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {mf}, "upload_only": {"True"}}, 200).json(t, &r)
	if r["product_token"] != sim.PrivateWorkspaceToken {
		t.Errorf("no product: went to %v, want the Private Workspace", r["product_token"])
	}
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{
		"manifest": {mf}, "product_token": {sim.DefaultProductToken}, "folder_token": {sim.DefaultFolderToken},
		"subfolder_name": {"nightly"}, "manifest_name": {"gw-nightly"}, "upload_only": {"True"},
	}, 200).json(t, &r)
	var sub *sim.Folder
	for _, f := range s.Folders(sim.DefaultProductToken) {
		if f.Name == "nightly" {
			sub = &f
		}
	}
	if sub == nil || sub.ParentToken != sim.DefaultFolderToken || r["folder_token"] != sub.Token || r["manifest_name"] != "gw-nightly" {
		t.Fatalf("subfolder: %+v, answer %v", sub, r)
	}
	var list []map[string]any
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests", url.Values{"folder_token": {sub.Token}}, 200).json(t, &list)
	if len(list) != 1 || list[0]["manifest_name"] != "gw-nightly" {
		t.Errorf("folder listing = %v", list)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests", url.Values{"product_token": {sim.DefaultProductToken}}, 200).json(t, &list)
	if len(list) != 1 {
		t.Errorf("product listing = %v", list)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests", nil, 200).json(t, &list)
	if len(list) != 2 {
		t.Errorf("full listing = %v", list)
	}
}

func TestErrorCodes(t *testing.T) {
	s := newSim(t)
	post := func(p url.Values, status int) {
		t.Helper()
		do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", p, status)
	}
	post(url.Values{}, http.StatusBadRequest)
	post(url.Values{"manifest": {"not json"}}, http.StatusPreconditionFailed)
	post(url.Values{"manifest": {`{"packages": {}}`}}, http.StatusPreconditionFailed)
	post(url.Values{"manifest": {`{"packages": {"zlib": {}}}`}}, http.StatusPreconditionFailed)
	post(url.Values{"manifest": {`{"image": "x"}`}}, http.StatusPreconditionFailed)
	post(url.Values{"manifest": {`{"packages": {"zlib": {"version": "1"}}}`}, "upload_only": {"true"}}, http.StatusBadRequest)
	post(url.Values{"manifest": {`{"packages": {"zlib": {"version": "1"}}}`}, "product_token": {"nope"}}, http.StatusNotFound)
	post(url.Values{"manifest": {`{"packages": {"zlib": {"version": "1"}}}`}, "with_field": {"bogus"}}, http.StatusBadRequest)
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/nope/reports/latest", nil, http.StatusNotFound)
	do(t, s, http.MethodDelete, "/api/v1/vigiles/manifests/nope", url.Values{"confirmed": {"True"}}, http.StatusNotFound)
	do(t, s, http.MethodGet, "/api/v1/vigiles/nothing-here", nil, http.StatusNotFound)
	do(t, s, http.MethodPut, "/api/v1/vigiles/products", nil, http.StatusMethodNotAllowed)
	do(t, s, http.MethodPost, "/api/v1/vigiles/products", url.Values{"desc": {"no name"}}, http.StatusBadRequest)
	if w := s.Recorder().Writes(); w == 0 {
		t.Error("rejected uploads were not recorded as writes")
	}
}

func TestDeleteNeedsConfirmation(t *testing.T) {
	s := newSim(t)
	var r map[string]any
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {manifest(t, "manifest.json")}}, 200).json(t, &r)
	tok := r["manifest_token"].(string)
	do(t, s, http.MethodDelete, "/api/v1/vigiles/manifests/"+tok, nil, http.StatusBadRequest)
	do(t, s, http.MethodDelete, "/api/v1/vigiles/manifests/"+tok, url.Values{"confirmed": {"True"}}, 200).json(t, &r)
	if r["success"] != true {
		t.Fatalf("delete: %v", r)
	}
	if _, ok := s.Manifest(tok); ok {
		t.Fatal("manifest still there")
	}
}

func TestReportsRescanCompareDownload(t *testing.T) {
	s := newSim(t)
	var r map[string]any
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests", url.Values{"manifest": {manifest(t, "manifest.json")}}, 200).json(t, &r)
	tok := r["manifest_token"].(string)
	first := strings.TrimPrefix(r["report_path"].(string), "/vigiles/reports/")
	do(t, s, http.MethodPost, "/api/v1/vigiles/manifests/"+tok+"/reports", url.Values{"manifest": {tok}, "rescan_only": {"True"}, "filtered": {"False"}}, 200).json(t, &r)
	second := r["report_token"].(string)
	var list struct{ Reports []map[string]any }
	do(t, s, http.MethodGet, "/api/v1/vigiles/manifests/"+tok+"/reports", nil, 200).json(t, &list)
	if len(list.Reports) != 2 || list.Reports[1]["report_token"] != second {
		t.Fatalf("reports = %v", list.Reports)
	}
	var cmp map[string][]string
	do(t, s, http.MethodGet, "/api/v1/vigiles/reports/compare", url.Values{"token_one": {first}, "token_two": {second}}, 200).json(t, &cmp)
	if len(cmp["new"]) != 0 || len(cmp["resolved"]) != 0 {
		t.Errorf("compare of two scans of one manifest = %v", cmp)
	}
	csv := do(t, s, http.MethodGet, "/api/v1/vigiles/reports/"+first, url.Values{"format": {"csv"}}, 200)
	if !strings.Contains(string(csv.body), "zlib,1.2.11,CVE-2022-37434,9.8,Unfixed") {
		t.Errorf("csv = %s", csv.body)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/reports/"+first, url.Values{"format": {"docx"}}, http.StatusBadRequest)
}

func TestCVESearch(t *testing.T) {
	s := newSim(t)
	var descs map[string]string
	do(t, s, http.MethodGet, "/api/v1/vigiles/cves", url.Values{"product": {"openssl"}, "version": {"3.0.7"}, "ids_only": {"False"}}, 200).json(t, &descs)
	if len(descs) != 3 || descs["CVE-2023-0286"] == "" {
		t.Errorf("openssl 3.0.7 = %v, want 0286, 2650, 5678", descs)
	}
	var ids []string
	do(t, s, http.MethodGet, "/api/v1/vigiles/cves", url.Values{"product": {"zlib"}, "version": {""}, "ids_only": {"True"}}, 200).json(t, &ids)
	if strings.Join(ids, ",") != "CVE-2018-25032,CVE-2022-37434" {
		t.Errorf("zlib = %v", ids)
	}
	var one map[string]any
	do(t, s, http.MethodGet, "/api/v1/vigiles/cves/cve-2022-37434", url.Values{"fields": {"description", "published"}}, 200).json(t, &one)
	if len(one) != 2 || one["published"] != "2022-08-05" {
		t.Errorf("cve = %v", one)
	}
}

func TestProductsAndFolders(t *testing.T) {
	s := newSim(t)
	var p map[string]any
	do(t, s, http.MethodPost, "/api/v1/vigiles/products", url.Values{"name": {"Router"}, "desc": {"a + b & c = d"}}, 200).json(t, &p)
	if p["description"] != "a + b & c = d" || len(p["token"].(string)) != 32 {
		t.Fatalf("created %v", p)
	}
	var list []map[string]any
	do(t, s, http.MethodGet, "/api/v1/vigiles/products", nil, 200).json(t, &list)
	if len(list) != 3 || list[0]["name"] != "Private Workspace" {
		t.Errorf("products = %v", list)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/products/"+p["token"].(string), nil, 200).json(t, &p)
	if p["is_default"] != false {
		t.Errorf("product = %v", p)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/folders", url.Values{"product_token": {sim.DefaultProductToken}}, 200).json(t, &list)
	if len(list) != 1 || list[0]["folder_token"] != sim.DefaultFolderToken {
		t.Errorf("folders = %v", list)
	}
	do(t, s, http.MethodGet, "/api/v1/vigiles/folders", url.Values{"product_token": {"nope"}}, http.StatusNotFound)
}

func TestKeyFileAndRotation(t *testing.T) {
	s := newSim(t)
	path := filepath.Join(t.TempDir(), "linuxlink_key")
	if err := s.WriteKeyFile(path, sim.DefaultEmail); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b, _ := os.ReadFile(path)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), sim.DefaultKey) || !strings.Contains(string(b), `"email": "user@example.com"`) {
		t.Fatalf("key file %v: %s", fi.Mode(), b)
	}
	if _, err := s.KeyFile("nobody@example.com"); err == nil {
		t.Error("KeyFile of an unknown user")
	}
	s.SetUser(sim.DefaultEmail, "rotated-key")
	if a := serve(s, signedRequest(http.MethodPost, "/api/v1/heartbeat", sim.DefaultEmail, sim.DefaultKey, nil)); a.status != http.StatusForbidden {
		t.Errorf("old key after rotation: %d", a.status)
	}
	if a := serve(s, signedRequest(http.MethodPost, "/api/v1/heartbeat", sim.DefaultEmail, "rotated-key", nil)); a.status != 200 {
		t.Errorf("new key: %d", a.status)
	}
}

func TestServesOverTLS(t *testing.T) {
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req := signedRequest(http.MethodPost, "/api/v1/heartbeat", sim.DefaultEmail, sim.DefaultKey, nil)
	req.RequestURI = ""
	u, _ := url.Parse(srv.URL + "/api/v1/heartbeat")
	req.URL, req.Host = u, u.Host
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("heartbeat over TLS: %d", resp.StatusCode)
	}
}
