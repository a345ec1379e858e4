package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

func listCVEsOp() sdk.Op {
	return sdk.Op{
		Name:   "list_cves",
		Doc:    "List the CVEs that affect a CPE product, optionally one version of it",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "product", Type: sdk.String, Required: true, Doc: "CPE product (package name), e.g. openssl"},
			{Name: "version", Type: sdk.String, Default: "", Doc: "only CVEs affecting this version; empty for every affected version"},
		},
		Results: []sdk.Field{
			{Name: "cves", Type: sdk.List, Elem: sdk.Object, Doc: "each with cve_id and description, sorted by cve_id"},
			{Name: "count", Type: sdk.Int},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			product := strings.TrimSpace(c.Args.String("product"))
			if product == "" {
				return nil, sdk.InvalidArgument("product", "must not be empty")
			}
			params := url.Values{
				"product":  {product},
				"version":  {c.Args.String("version")},
				"ids_only": {sign.Bool(false)},
			}
			var raw json.RawMessage
			if err := do(ctx, c, "list CVEs of "+product, http.MethodGet, apiPrefix+"/cves", params, &raw); err != nil {
				return nil, err
			}
			descs := map[string]string{}
			// ids_only=False answers {cve_id: description}; accept a plain
			// list of ids too.
			if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
				var ids []string
				if err := json.Unmarshal(t, &ids); err != nil {
					return nil, sdk.Errorf(sdk.CodeInternal, "list CVEs: unexpected answer: %v", err)
				}
				for _, id := range ids {
					descs[id] = ""
				}
			} else if err := json.Unmarshal(raw, &descs); err != nil {
				return nil, sdk.Errorf(sdk.CodeInternal, "list CVEs: unexpected answer: %v", err)
			}
			ids := make([]string, 0, len(descs))
			for id := range descs {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			out := make([]any, 0, len(ids))
			for _, id := range ids {
				out = append(out, map[string]any{"cve_id": id, "description": descs[id]})
			}
			return map[string]any{"cves": out, "count": len(out)}, nil
		},
	}
}
