package ops

import (
	"context"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk"
)

func versionOp() sdk.Op {
	return sdk.Op{
		Name:   "version",
		Doc:    "Return the TMOS version (GET /mgmt/tm/sys/version)",
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "version", Type: sdk.String, Doc: "e.g. 17.1.1"},
			{Name: "build", Type: sdk.String},
			{Name: "edition", Type: sdk.String},
			{Name: "product", Type: sdk.String, Doc: "BIG-IP"},
			{Name: "title", Type: sdk.String},
			{Name: "date", Type: sdk.String, Doc: "build date as BIG-IP writes it"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			const what = "get version"
			_, data, err := do(ctx, c, request{what: what, method: http.MethodGet, path: "/mgmt/tm/sys/version"})
			if err != nil {
				return nil, err
			}
			var v struct {
				Entries map[string]struct {
					NestedStats struct {
						Entries map[string]struct {
							Description string `json:"description"`
						} `json:"entries"`
					} `json:"nestedStats"`
				} `json:"entries"`
			}
			if err := decode(what, data, &v); err != nil {
				return nil, err
			}
			for _, e := range v.Entries { // one entry: .../sys/version/0
				get := func(k string) string { return e.NestedStats.Entries[k].Description }
				return map[string]any{
					"version": get("Version"), "build": get("Build"), "edition": get("Edition"),
					"product": get("Product"), "title": get("Title"), "date": get("Date"),
				}, nil
			}
			return nil, sdk.Errorf(sdk.CodeInternal, "%s: the response holds no version entry", what)
		},
	}
}
