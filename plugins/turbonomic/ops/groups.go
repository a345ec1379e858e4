package ops

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

var groupFields = []sdk.Field{
	{Name: "uuid", Type: sdk.String},
	{Name: "display_name", Type: sdk.String},
	{Name: "group_type", Type: sdk.String, Doc: "member entity type, e.g. VirtualMachine"},
	{Name: "is_static", Type: sdk.Bool},
	{Name: "member_uuid_list", Type: sdk.List, Elem: sdk.String},
}

func groupResult(m map[string]any) map[string]any {
	out := snakeMap(m)
	if _, ok := out["member_uuid_list"]; !ok {
		out["member_uuid_list"] = []any{}
	}
	return out
}

func getGroupsOp() sdk.Op {
	return sdk.Op{
		Name:    "get_groups",
		Doc:     "List the groups (GET groups)",
		Effect:  sdk.Read,
		Params:  pageParams,
		Results: append([]sdk.Field{{Name: "groups", Type: sdk.List, Elem: sdk.Object}}, pageResults...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			l, err := list(ctx, c, "list groups", http.MethodGet, "groups", nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("groups", groupResult), nil
		},
	}
}

// findGroup searches groups by name (GET search?types=Group&q=<name>) and returns the first
// whose displayName is exactly name, or nil.
func findGroup(ctx context.Context, c *sdk.Call, name string) (map[string]any, error) {
	q := url.Values{"types": {"Group"}, "q": {name}, "query_type": {"EXACT"}, "disable_hateoas": {"true"}}
	var found map[string]any
	for cursor := ""; ; {
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, data, err := do(ctx, c, http.MethodGet, "search", q, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 200 || resp.StatusCode >= 300 {
			return nil, apiError("search group "+name, resp, data)
		}
		items, err := decodeItems(data)
		if err != nil {
			return nil, sdk.Errorf(sdk.CodeInternal, "search group %q: %v", name, err)
		}
		for _, it := range items {
			if dn, _ := it["displayName"].(string); dn == name && found == nil {
				found = it
			}
		}
		next := resp.Header.Get(headerNextCursor)
		if found != nil || next == "" || next == cursor {
			return found, nil
		}
		cursor = next
	}
}

func getGroupByNameOp() sdk.Op {
	return sdk.Op{
		Name:    "get_group_by_name",
		Doc:     "Find the group whose display name is exactly name (GET search?types=Group)",
		Effect:  sdk.Read,
		Params:  []sdk.Field{{Name: "name", Type: sdk.String, Required: true}},
		Results: groupFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			name := c.Args.String("name")
			g, err := findGroup(ctx, c, name)
			if err != nil {
				return nil, err
			}
			if g == nil {
				return nil, sdk.NotFound("no group named %q", name)
			}
			return groupResult(g), nil
		},
	}
}

func stringList(v []any) []string {
	out := []string{}
	for _, x := range v {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func addStaticGroupOp() sdk.Op {
	return sdk.Op{
		Name:   "add_static_group",
		Doc:    "Create a static group of entities of one type (POST groups)",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "name", Type: sdk.String, Required: true},
			{Name: "group_type", Type: sdk.String, Required: true, Doc: "member entity type, e.g. VirtualMachine"},
			{Name: "members", Type: sdk.List, Elem: sdk.String, Default: []any{}, Doc: "member entity uuids"},
		},
		Results: groupFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			name := strings.TrimSpace(c.Args.String("name"))
			if name == "" {
				return nil, sdk.InvalidArgument("name", "must not be empty")
			}
			body := map[string]any{
				"displayName":    name,
				"isStatic":       true,
				"groupType":      c.Args.String("group_type"),
				"memberUuidList": stringList(c.Args.List("members")),
			}
			var out map[string]any
			if err := doJSON(ctx, c, "create group "+name, http.MethodPost, "groups", nil, body, &out); err != nil {
				return nil, err
			}
			return groupResult(out), nil
		},
	}
}

func addStaticGroupMembersOp() sdk.Op {
	return sdk.Op{
		Name:   "add_static_group_members",
		Doc:    "Add members to a static group (GET groups/{uuid}, then PUT it with the union)",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "uuid", Type: sdk.String, Required: true, Doc: "group uuid"},
			{Name: "members", Type: sdk.List, Elem: sdk.String, Required: true, Doc: "entity uuids to add"},
		},
		Results: append(append([]sdk.Field{}, groupFields...),
			sdk.Field{Name: "added", Type: sdk.List, Elem: sdk.String, Doc: "uuids that became members"},
			sdk.Field{Name: "ignored", Type: sdk.List, Elem: sdk.String, Doc: "uuids the server did not accept (unknown or of another type)"}),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			uuid := c.Args.String("uuid")
			path := "groups/" + url.PathEscape(uuid)
			g, err := getOne(ctx, c, "get group "+uuid, path)
			if err != nil {
				return nil, err
			}
			current := stringList(anyList(g["memberUuidList"]))
			have := map[string]bool{}
			for _, m := range current {
				have[m] = true
			}
			want := append([]string{}, current...)
			var requested []string
			for _, m := range stringList(c.Args.List("members")) {
				if !have[m] {
					have[m] = true
					want = append(want, m)
					requested = append(requested, m)
				}
			}
			body := map[string]any{"displayName": g["displayName"], "groupType": g["groupType"], "memberUuidList": want}
			var out map[string]any
			if err := doJSON(ctx, c, "update group "+uuid, http.MethodPut, path, nil, body, &out); err != nil {
				return nil, err
			}
			res := groupResult(out)
			now := map[string]bool{}
			for _, m := range stringList(anyList(out["memberUuidList"])) {
				now[m] = true
			}
			added, ignored := []string{}, []string{}
			for _, m := range requested {
				if now[m] {
					added = append(added, m)
				} else {
					ignored = append(ignored, m)
				}
			}
			res["added"], res["ignored"] = added, ignored
			return res, nil
		},
	}
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}
