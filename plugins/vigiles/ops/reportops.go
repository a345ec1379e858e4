package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

// The report ops follow the toolkit's reports.py and manifests.py
// (download_report, compare_reports, get_report_tokens, rescan_manifest).

// extraFieldsArg reads extra_fields and checks each name against the list
// the toolkit documents, so a typo fails before anything is sent.
func extraFieldsArg(c *sdk.Call) ([]string, error) {
	extra, err := stringList(c, "extra_fields")
	if err != nil {
		return nil, err
	}
	for _, f := range extra {
		if !slices.Contains(extraFields, f) {
			return nil, sdk.InvalidArgument("extra_fields", "%q is not an extra CVE field; want some of %s", f, strings.Join(extraFields, ", "))
		}
	}
	return extra, nil
}

func listReportsOp() sdk.Op {
	return sdk.Op{
		Name:   "list_reports",
		Doc:    "List the CVE reports of a manifest, oldest first",
		Effect: sdk.Read,
		Params: []sdk.Field{{Name: "manifest_token", Type: sdk.String, Required: true}},
		Results: []sdk.Field{
			{Name: "manifest_name", Type: sdk.String},
			{Name: "reports", Type: sdk.List, Elem: sdk.Object, Doc: "each with report_token, created_date and manifest_version"},
			{Name: "latest", Type: sdk.String, Doc: "the newest report's token (the last one listed); empty when there is none"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := token("manifest_token", c.Args.String("manifest_token"), true)
			if err != nil {
				return nil, err
			}
			var out struct {
				ManifestName string `json:"manifest_name"`
				Reports      []struct {
					ReportToken     string `json:"report_token"`
					CreatedDate     string `json:"created_date"`
					ManifestVersion any    `json:"manifest_version"`
				} `json:"reports"`
			}
			if err := do(ctx, c, "list reports of manifest "+tok, http.MethodGet, apiPrefix+"/manifests/"+tok+"/reports", nil, &out); err != nil {
				return nil, err
			}
			list := make([]any, 0, len(out.Reports))
			latest := ""
			for _, r := range out.Reports {
				list = append(list, map[string]any{"report_token": r.ReportToken, "created_date": r.CreatedDate, "manifest_version": fmt.Sprint(r.ManifestVersion)})
				latest = r.ReportToken
			}
			return map[string]any{"manifest_name": out.ManifestName, "reports": list, "latest": latest}, nil
		},
	}
}

func rescanOp() sdk.Op {
	return sdk.Op{
		Name:   "rescan",
		Doc:    "Scan a manifest again against today's CVE data: a new report",
		Effect: sdk.Write,
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
			// rescan_only=False: the report comes back in the answer, so
			// the flow needs no second request.
			params := url.Values{
				"manifest": {tok}, "rescan_only": {sign.Bool(false)}, "filtered": {sign.Bool(c.Args.Bool("filter_results"))},
			}
			if len(extra) > 0 {
				params["with_field"] = extra
			}
			var r report
			if err := do(ctx, c, "rescan manifest "+tok, http.MethodPost, apiPrefix+"/manifests/"+tok+"/reports", params, &r); err != nil {
				return nil, err
			}
			if r.ManifestToken == "" {
				r.ManifestToken = tok
			}
			return r.result(c.Conn.String("url"))
		},
	}
}

// reportFormats are download_report's formats (toolkit reports.py).
var reportFormats = []string{"csv", "pdf", "pdfsummary", "xlsx"}

func downloadReportOp() sdk.Op {
	return sdk.Op{
		Name:   "download_report",
		Doc:    "Download a CVE report as a csv, pdf, pdfsummary or xlsx file",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "report_token", Type: sdk.String, Required: true, Doc: "a report's token (report_token of a report, or list_reports)"},
			{Name: "format", Type: sdk.String, Default: "csv", Doc: "csv, pdf, pdfsummary (the PDF's summary pages) or xlsx"},
			{Name: "filter_results", Type: sdk.Bool, Default: false, Doc: "apply every filter configured on the dashboard"},
		},
		Results: []sdk.Field{
			{Name: "format", Type: sdk.String},
			{Name: "content_type", Type: sdk.String, Doc: "the server's Content-Type"},
			{Name: "size", Type: sdk.Int, Doc: "bytes"},
			{Name: "sha256", Type: sdk.String, Doc: "hex SHA-256 of the file"},
			{Name: "content", Type: sdk.String, Doc: "the file as text, for csv (empty for the binary formats: use content_base64)"},
			{Name: "content_base64", Type: sdk.String, Doc: "the file, standard base64"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := token("report_token", c.Args.String("report_token"), true)
			if err != nil {
				return nil, err
			}
			format := c.Args.String("format")
			if !slices.Contains(reportFormats, format) {
				return nil, sdk.InvalidArgument("format", "%q is not a report format; want one of %s", format, strings.Join(reportFormats, ", "))
			}
			params := url.Values{"filtered": {sign.Bool(c.Args.Bool("filter_results"))}, "format": {format}}
			resp, data, err := send(ctx, c, fmt.Sprintf("download report %s as %s", tok, format), http.MethodGet, apiPrefix+"/reports/"+tok, params, "*/*")
			if err != nil {
				return nil, err
			}
			ct := resp.Header.Get("Content-Type")
			// A JSON answer to a file request is an error the server
			// wrapped in 200, not a report.
			if strings.HasPrefix(ct, "application/json") {
				return nil, sdk.Errorf(sdk.CodeInternal, "download report %s: the server answered JSON, not a %s file: %s", tok, format, truncate(data, 300))
			}
			sum := sha256.Sum256(data)
			text := ""
			if format == "csv" && utf8.Valid(data) {
				text = string(data)
			}
			return map[string]any{
				"format": format, "content_type": ct, "size": int64(len(data)), "sha256": hex.EncodeToString(sum[:]),
				"content": text, "content_base64": base64.StdEncoding.EncodeToString(data),
			}, nil
		},
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

func compareReportsOp() sdk.Op {
	return sdk.Op{
		Name:   "compare_reports",
		Doc:    "Compare two CVE reports: the CVEs new in the second and those resolved since the first",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "token_one", Type: sdk.String, Required: true, Doc: "the earlier report (the baseline)"},
			{Name: "token_two", Type: sdk.String, Required: true, Doc: "the later report (this build)"},
			{Name: "remove_whitelist", Type: sdk.Bool, Default: false, Doc: "leave whitelisted CVEs out"},
			{Name: "filter_results", Type: sdk.Bool, Default: false, Doc: "apply every filter configured on the dashboard"},
		},
		Results: []sdk.Field{
			{Name: "new", Type: sdk.List, Elem: sdk.String, Doc: "CVE IDs in token_two and not in token_one"},
			{Name: "resolved", Type: sdk.List, Elem: sdk.String, Doc: "CVE IDs in token_one and no longer in token_two"},
			{Name: "new_count", Type: sdk.Int},
			{Name: "resolved_count", Type: sdk.Int},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			one, err := token("token_one", c.Args.String("token_one"), true)
			if err != nil {
				return nil, err
			}
			two, err := token("token_two", c.Args.String("token_two"), true)
			if err != nil {
				return nil, err
			}
			params := url.Values{
				"token_one": {one}, "token_two": {two},
				"remove_whitelist": {sign.Bool(c.Args.Bool("remove_whitelist"))}, "filtered": {sign.Bool(c.Args.Bool("filter_results"))},
			}
			var out struct {
				New      json.RawMessage `json:"new"`
				Resolved json.RawMessage `json:"resolved"`
			}
			if err := do(ctx, c, fmt.Sprintf("compare reports %s and %s", one, two), http.MethodGet, apiPrefix+"/reports/compare", params, &out); err != nil {
				return nil, err
			}
			added, err := cveIDs(out.New)
			if err != nil {
				return nil, sdk.Errorf(sdk.CodeInternal, "compare reports: cannot read new: %v", err)
			}
			resolved, err := cveIDs(out.Resolved)
			if err != nil {
				return nil, sdk.Errorf(sdk.CodeInternal, "compare reports: cannot read resolved: %v", err)
			}
			return map[string]any{"new": added, "resolved": resolved, "new_count": int64(len(added)), "resolved_count": int64(len(resolved))}, nil
		},
	}
}

// cveIDs reads a compare list. The toolkit documents "list of CVEs"
// without their shape, so both IDs and objects carrying cve_id (or id) are
// read.
func cveIDs(raw json.RawMessage) ([]any, error) {
	raw = bytes.TrimSpace(raw)
	out := []any{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
			continue
		}
		var o struct {
			CVEID string `json:"cve_id"`
			ID    string `json:"id"`
		}
		if err := json.Unmarshal(it, &o); err != nil {
			return nil, err
		}
		if o.CVEID == "" {
			o.CVEID = o.ID
		}
		out = append(out, o.CVEID)
	}
	return out, nil
}
