package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tokenflow/tokenflow/sdk"
)

// sbomFormats are the sbom_format values of get_manifest_file: the first
// toolkit documents "spdx"; its successor adds "spdx-lite" (SPDX
// tag-value) and "cyclonedx" (CycloneDX JSON).
var sbomFormats = []string{"spdx", "spdx-lite", "cyclonedx"}

func exportSBOMOp() sdk.Op {
	return sdk.Op{
		Name:   "export_sbom",
		Doc:    "Export a manifest as an SBOM: SPDX (JSON or tag-value) or CycloneDX, converted by the server",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "manifest_token", Type: sdk.String, Required: true},
			{Name: "sbom_format", Type: sdk.String, Default: "spdx", Doc: "spdx, spdx-lite (SPDX tag-value) or cyclonedx"},
			{Name: "sbom_version", Type: sdk.String, Doc: "SPDX or CycloneDX version (e.g. 2.3, 1.5); default: the server's"},
			{Name: "file_format", Type: sdk.String, Doc: "file format of the SBOM, passed to the server as is (its values are not documented publicly); default: the server's"},
		},
		Results: []sdk.Field{
			{Name: "sbom_format", Type: sdk.String},
			{Name: "content", Type: sdk.String, Doc: "the SBOM file as the server sent it"},
			{Name: "content_type", Type: sdk.String},
			{Name: "size", Type: sdk.Int, Doc: "bytes"},
			{Name: "packages", Type: sdk.Int, Doc: "packages (SPDX) or components (CycloneDX) in a JSON SBOM; -1 when not counted"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := token("manifest_token", c.Args.String("manifest_token"), true)
			if err != nil {
				return nil, err
			}
			format := c.Args.String("sbom_format")
			if !slices.Contains(sbomFormats, format) {
				return nil, sdk.InvalidArgument("sbom_format", "%q is not an SBOM format; want one of %s", format, strings.Join(sbomFormats, ", "))
			}
			params := url.Values{"send_file": {"True"}, "sbom_format": {format}}
			for _, p := range []string{"sbom_version", "file_format"} {
				if v := strings.TrimSpace(c.Args.String(p)); v != "" {
					params.Set(p, v)
				}
			}
			resp, data, err := send(ctx, c, fmt.Sprintf("export manifest %s as %s", tok, format), http.MethodGet, apiPrefix+"/manifests/"+tok, params, "*/*")
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(data) {
				return nil, sdk.Errorf(sdk.CodeInternal, "export manifest %s: the server's SBOM is not text (%d bytes of %s)", tok, len(data), resp.Header.Get("Content-Type"))
			}
			return map[string]any{
				"sbom_format": format, "content": string(data), "content_type": resp.Header.Get("Content-Type"),
				"size": int64(len(data)), "packages": countPackages(data),
			}, nil
		},
	}
}

// countPackages counts an SPDX JSON document's packages or a CycloneDX
// BOM's components, so a flow can check an export is not empty.
func countPackages(data []byte) int64 {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return -1
	}
	var doc struct {
		Packages   []json.RawMessage `json:"packages"`
		Components []json.RawMessage `json:"components"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return -1
	}
	return int64(len(doc.Packages) + len(doc.Components))
}
