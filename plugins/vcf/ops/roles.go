package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tokenflow/tokenflow/sdk"
)

type roleAssignment struct {
	RoleName        string    `json:"roleName"`
	RoleDisplayName string    `json:"roleDisplayName,omitempty"`
	RoleScope       roleScope `json:"roleScope"`
	ExpiresAt       int64     `json:"expiresAt,omitempty"`
}

type roleScope struct {
	ScopeType string          `json:"scopeType"`
	Resources []scopeResource `json:"resources,omitempty"`
}

type scopeResource struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func rolesResult(roles []roleAssignment) []map[string]any {
	out := make([]map[string]any, 0, len(roles))
	for _, r := range roles {
		ids := []string{}
		for _, res := range r.RoleScope.Resources {
			ids = append(ids, res.ID)
		}
		out = append(out, map[string]any{
			"role_name": r.RoleName, "role_display_name": r.RoleDisplayName,
			"scope_type": r.RoleScope.ScopeType, "resource_ids": ids,
		})
	}
	return out
}

func principalPath(c *sdk.Call) string {
	return realmPath(c) + "/principals/" + url.PathEscape(c.Args.String("principal_id")) + "/roles"
}

var principalParam = sdk.Field{Name: "principal_id", Type: sdk.String, Required: true, Doc: "the API client's client_uuid"}

func getRolesOp() sdk.Op {
	return sdk.Op{
		Name:    "get_roles",
		Doc:     "Get a principal's role assignments",
		Effect:  sdk.Read,
		Params:  []sdk.Field{realmParam, principalParam},
		Results: []sdk.Field{{Name: "roles", Type: sdk.List, Elem: sdk.Object}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var out struct {
				Assignments []roleAssignment `json:"vcfRoleAssignments"`
			}
			if err := do(ctx, c, "get role assignments", http.MethodGet, principalPath(c), nil, &out); err != nil {
				return nil, err
			}
			return map[string]any{"roles": rolesResult(out.Assignments)}, nil
		},
	}
}

func assignRolesOp() sdk.Op {
	return sdk.Op{
		Name:   "assign_roles",
		Doc:    "Replace a principal's role assignments: roles = [{role_name, scope_type, resource_ids?}]",
		Effect: sdk.Write,
		Params: []sdk.Field{
			realmParam, principalParam,
			{Name: "roles", Type: sdk.List, Elem: sdk.Object, Required: true,
				Doc: "each {role_name: vcf_viewer|vcf_operator|vcf_administrator|vcf_auditor, scope_type: SSO_REALM|VCF_INSTANCE, resource_ids: [..]}"},
		},
		Results: []sdk.Field{{Name: "roles", Type: sdk.List, Elem: sdk.Object}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var assignments []roleAssignment
			for i, raw := range c.Args.List("roles") {
				m, ok := raw.(map[string]any)
				if !ok {
					return nil, sdk.InvalidArgument("roles", "item %d: want a dict", i)
				}
				name, _ := m["role_name"].(string)
				scope, _ := m["scope_type"].(string)
				if name == "" {
					return nil, sdk.InvalidArgument("roles", "item %d: role_name is required", i)
				}
				switch scope {
				case "VCF_INSTANCE", "SSO_REALM", "UNKNOWN":
				case "":
					return nil, sdk.InvalidArgument("roles", "item %d: scope_type is required (SSO_REALM or VCF_INSTANCE)", i)
				default:
					return nil, sdk.InvalidArgument("roles", "item %d: scope_type %q: want SSO_REALM, VCF_INSTANCE or UNKNOWN", i, scope)
				}
				a := roleAssignment{RoleName: name, RoleScope: roleScope{ScopeType: scope}}
				if ids, ok := m["resource_ids"].([]any); ok {
					for _, id := range ids {
						a.RoleScope.Resources = append(a.RoleScope.Resources, scopeResource{ID: fmt.Sprint(id)})
					}
				}
				assignments = append(assignments, a)
			}
			body := map[string]any{"vcfRoleAssignments": assignments}
			if err := do(ctx, c, "assign roles", http.MethodPut, principalPath(c), body, nil, http.StatusOK, http.StatusNoContent); err != nil {
				return nil, err
			}
			return map[string]any{"roles": rolesResult(assignments)}, nil
		},
		// The PUT replaces every assignment: sending it again is right.
		Reconcile: sdk.Resend,
	}
}

func deleteRolesOp() sdk.Op {
	return sdk.Op{
		Name:   "delete_roles",
		Doc:    "Remove every role assignment of a principal: DELETE .../principals/{principal_id}/roles",
		Effect: sdk.Write,
		Params: []sdk.Field{realmParam, principalParam,
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "a principal that is already gone counts as done"}},
		Results: []sdk.Field{{Name: "deleted", Type: sdk.Bool, Doc: "False when missing_ok and the principal was already gone"}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			err := do(ctx, c, "delete role assignments", http.MethodDelete, principalPath(c), nil, nil, http.StatusNoContent, http.StatusOK)
			if sdk.IsCode(err, sdk.CodeNotFound) && c.Args.Bool("missing_ok") {
				return map[string]any{"deleted": false}, nil
			}
			if err != nil {
				return nil, err
			}
			return map[string]any{"deleted": true}, nil
		},
		// Removing every assignment again leaves the same state.
		Reconcile: sdk.Resend,
	}
}
