package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

// report is a scan result as upload, rescan and latest report return it
// (toolkit vigiles/manifests.py; meta-timesys scripts/checkcves.py reads
// cves as {package: [cve, ...]} and counts as below).
type report struct {
	ManifestToken string          `json:"manifest_token"`
	ManifestName  string          `json:"manifest_name"`
	ProductToken  string          `json:"product_token"`
	GroupToken    string          `json:"group_token"` // enterprise servers say group for product
	FolderToken   string          `json:"folder_token"`
	Date          string          `json:"date"`
	ReportPath    string          `json:"report_path"`
	ProductPath   string          `json:"product_path"`
	Counts        json.RawMessage `json:"counts"`
	CVEs          json.RawMessage `json:"cves"`
	// ExportedManifest is the manifest in SPDX (upload and rescan answers).
	ExportedManifest json.RawMessage `json:"exported_manifest"`
}

type cveWire struct {
	Package string          `json:"package"`
	CVEID   string          `json:"cve_id"`
	Version string          `json:"version"`
	CVSS    json.RawMessage `json:"cvss"`
	Vector  string          `json:"vector"`
	Status  string          `json:"status"`
	extra   map[string]any  // the with_field extras the server sent
}

// extraFields are the CVE fields with_field asks for (toolkit
// manifests.py); the server's values pass through as they came.
var extraFields = []string{"assigner", "description", "impact", "modified", "problem_types", "published", "references"}

func decodeCVE(raw json.RawMessage) (cveWire, error) {
	var c cveWire
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, err
	}
	all := decodeObject(raw)
	for _, f := range extraFields {
		if v, ok := all[f]; ok {
			if c.extra == nil {
				c.extra = map[string]any{}
			}
			c.extra[f] = v
		}
	}
	return c, nil
}

// reportFields are the results of upload_manifest and latest_report.
var reportFields = []sdk.Field{
	{Name: "manifest_token", Type: sdk.String},
	{Name: "manifest_name", Type: sdk.String},
	{Name: "product_token", Type: sdk.String},
	{Name: "folder_token", Type: sdk.String},
	{Name: "report_token", Type: sdk.String, Doc: "empty when no report was generated (upload_only)"},
	{Name: "report_url", Type: sdk.String, Doc: "where the report is shown on the dashboard"},
	{Name: "date", Type: sdk.String, Doc: "when the scan ran, as the server writes it"},
	{Name: "critical", Type: sdk.Int, Doc: "open (not fixed) CVEs with a CVSS v3 score of 9.0 or more"},
	{Name: "high", Type: sdk.Int, Doc: "open CVEs scored 7.0 to 8.9"},
	{Name: "medium", Type: sdk.Int, Doc: "open CVEs scored 4.0 to 6.9"},
	{Name: "low", Type: sdk.Int, Doc: "open CVEs scored 0.1 to 3.9"},
	{Name: "unfixed", Type: sdk.Int, Doc: "the server's count of unfixed CVEs"},
	{Name: "unapplied", Type: sdk.Int, Doc: "the server's count of unfixed CVEs with a patch available"},
	{Name: "fixed", Type: sdk.Int, Doc: "the server's count of fixed CVEs"},
	{Name: "whitelisted", Type: sdk.Int, Doc: "the server's count of whitelisted CVEs (not in cves)"},
	{Name: "cves", Type: sdk.List, Elem: sdk.Object,
		Doc: "each with package, version, cve_id, cvss (float, -1 when unscored), severity (critical, high, medium, low, none, unknown), status, open and vector, plus the extra_fields asked for (assigner, description, impact, modified, problem_types, published, references) as the server sent them"},
	{Name: "counts", Type: sdk.Object, Doc: "the counts object as the server sent it"},
	{Name: "exported_manifest", Type: sdk.String, Doc: "the manifest in SPDX JSON, as upload and rescan answer it (empty from latest_report and upload_only)"},
}

// severity maps a CVSS v3 base score to its qualitative rating.
func severity(score float64) string {
	switch {
	case score < 0:
		return "unknown"
	case score >= 9.0:
		return "critical"
	case score >= 7.0:
		return "high"
	case score >= 4.0:
		return "medium"
	case score > 0:
		return "low"
	}
	return "none"
}

// score reads a cvss field that may be a number, a numeric string or null.
func score(raw json.RawMessage) float64 {
	raw = bytes.TrimSpace(raw)
	var f float64
	if json.Unmarshal(raw, &f) == nil && len(raw) > 0 && string(raw) != "null" {
		return f
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f
		}
	}
	return -1
}

func (r report) cveList() ([]cveWire, error) {
	raw := bytes.TrimSpace(r.CVEs)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var out []cveWire
	add := func(pkg string, items []json.RawMessage) error {
		for _, it := range items {
			c, err := decodeCVE(it)
			if err != nil {
				return err
			}
			if c.Package == "" {
				c.Package = pkg
			}
			out = append(out, c)
		}
		return nil
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		return out, add("", items)
	}
	var byPkg map[string][]json.RawMessage
	if err := json.Unmarshal(raw, &byPkg); err != nil {
		return nil, err
	}
	pkgs := make([]string, 0, len(byPkg))
	for p := range byPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if err := add(p, byPkg[p]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// exported is exported_manifest as text: the server's string as is, or
// its JSON object written out ("" when absent).
func (r report) exported() string {
	raw := bytes.TrimSpace(r.ExportedManifest)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// result converts a report for the flow. base resolves report_path.
func (r report) result(base string) (map[string]any, error) {
	cves, err := r.cveList()
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "report: cannot read its cves: %v", err)
	}
	bySeverity := map[string]int64{}
	list := make([]any, 0, len(cves))
	for _, c := range cves {
		s := score(c.CVSS)
		sev := severity(s)
		open := !strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.Status)), "fixed")
		if open {
			bySeverity[sev]++
		}
		item := map[string]any{
			"package": c.Package, "version": c.Version, "cve_id": c.CVEID, "cvss": s,
			"severity": sev, "status": c.Status, "open": open, "vector": c.Vector,
		}
		for k, v := range c.extra {
			item[k] = v
		}
		list = append(list, item)
	}
	counts := decodeObject(r.Counts)
	product := r.ProductToken
	if product == "" {
		product = r.GroupToken
	}
	reportToken, reportURL := "", ""
	if r.ReportPath != "" {
		reportToken = path.Base(strings.TrimRight(r.ReportPath, "/"))
		reportURL = resolve(base, r.ReportPath)
	}
	return map[string]any{
		"manifest_token": r.ManifestToken, "manifest_name": r.ManifestName,
		"product_token": product, "folder_token": r.FolderToken,
		"report_token": reportToken, "report_url": reportURL, "date": r.Date,
		"critical": bySeverity["critical"], "high": bySeverity["high"],
		"medium": bySeverity["medium"], "low": bySeverity["low"],
		"unfixed": count(counts, "unfixed"), "unapplied": count(counts, "unapplied"),
		"fixed": count(counts, "fixed"), "whitelisted": count(counts, "whitelisted"),
		"cves": list, "counts": counts, "exported_manifest": r.exported(),
	}, nil
}

// count reads a top-level count, 0 when absent.
func count(counts map[string]any, name string) int64 {
	if n, ok := counts[name].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return 0
}

func resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

func latestReportOp() sdk.Op {
	return sdk.Op{
		Name:   "latest_report",
		Doc:    "Fetch a manifest's latest CVE report, with counts by severity",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "manifest_token", Type: sdk.String, Required: true},
			{Name: "filter_results", Type: sdk.Bool, Default: false, Doc: "apply every filter configured on the dashboard"},
			{Name: "extra_fields", Type: sdk.List, Elem: sdk.String, Doc: "extra CVE fields: assigner, description, impact, modified, problem_types, published, references"},
		},
		Results: reportFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := token("manifest_token", c.Args.String("manifest_token"), true)
			if err != nil {
				return nil, err
			}
			extra, err := extraFieldsArg(c)
			if err != nil {
				return nil, err
			}
			params := url.Values{"filtered": {sign.Bool(c.Args.Bool("filter_results"))}}
			if len(extra) > 0 {
				params["with_field"] = extra
			}
			var r report
			what := fmt.Sprintf("latest report of manifest %s", tok)
			if err := do(ctx, c, what, http.MethodGet, apiPrefix+"/manifests/"+tok+"/reports/latest", params, &r); err != nil {
				return nil, err
			}
			if r.ManifestToken == "" {
				r.ManifestToken = tok
			}
			return r.result(c.Conn.String("url"))
		},
	}
}
