package ops

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

type ssoRealm struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	VidbResourceID string `json:"vidbResourceId"`
	VcfInstanceID  string `json:"vcfInstanceId"`
	IdpID          string `json:"idpId"`
	CreatedAt      int64  `json:"createdAt"`
}

func (r ssoRealm) result() map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "vidb_resource_id": r.VidbResourceID,
		"vcf_instance_id": r.VcfInstanceID, "idp_id": r.IdpID, "created_at": msTime(r.CreatedAt),
	}
}

var realmFields = []sdk.Field{
	{Name: "id", Type: sdk.String, Doc: "realm UUID, used in every IAM path"},
	{Name: "name", Type: sdk.String},
	{Name: "vidb_resource_id", Type: sdk.String},
	{Name: "vcf_instance_id", Type: sdk.String},
	{Name: "idp_id", Type: sdk.String},
	{Name: "created_at", Type: sdk.Timestamp},
}

func listRealms(ctx context.Context, c *sdk.Call) ([]ssoRealm, error) {
	var out struct {
		SsoRealms []ssoRealm `json:"ssoRealms"`
	}
	if err := do(ctx, c, "list SSO realms", http.MethodGet, iamPrefix+"/ssorealms", nil, &out); err != nil {
		return nil, err
	}
	return out.SsoRealms, nil
}

func listRealmsOp() sdk.Op {
	return sdk.Op{
		Name:    "list_realms",
		Doc:     "List the SSO realms",
		Effect:  sdk.Read,
		Results: []sdk.Field{{Name: "realms", Type: sdk.List, Elem: sdk.Object}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			realms, err := listRealms(ctx, c)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(realms))
			for _, r := range realms {
				out = append(out, r.result())
			}
			return map[string]any{"realms": out}, nil
		},
	}
}

func findRealmOp() sdk.Op {
	return sdk.Op{
		Name:    "find_realm",
		Doc:     "Find an SSO realm by name (or id)",
		Effect:  sdk.Read,
		Params:  []sdk.Field{{Name: "name", Type: sdk.String, Required: true, Doc: "realm name or id"}},
		Results: realmFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			name := c.Args.String("name")
			realms, err := listRealms(ctx, c)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, r := range realms {
				if r.Name == name || r.ID == name {
					return r.result(), nil
				}
				names = append(names, r.Name)
			}
			sort.Strings(names)
			return nil, sdk.NotFound("no SSO realm named %q (realms: %s)", name, strings.Join(names, ", "))
		},
	}
}

func realmPath(c *sdk.Call) string {
	return iamPrefix + "/ssorealms/" + url.PathEscape(c.Args.String("realm_id"))
}

var realmParam = sdk.Field{Name: "realm_id", Type: sdk.String, Required: true, Doc: "SSO realm UUID (find_realm(...).id)"}
