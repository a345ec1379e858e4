package ops

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

// The action and group-entity reads follow vmt-connect's calls: get_actions
// (markets/{market}/actions, or actions/{uuid}), get_entity_actions
// (entities/{uuid}/actions), get_group_actions (groups/{uuid}/actions),
// get_target_actions (targets/{uuid}/actions) and get_group_entities
// (groups/{uuid}/entities). All are GETs, paged like every list. Actions
// come back as the server sent them, keys in snake_case (action_type,
// action_state, details, risk, target, ...).

var actionsResults = append([]sdk.Field{
	{Name: "actions", Type: sdk.List, Elem: sdk.Object,
		Doc: "ActionApiDTOs in snake_case: uuid, action_type, action_state, action_mode, details, importance, target, risk, ..."},
}, pageResults...)

// scopedUUID checks a uuid that goes into a path.
func scopedUUID(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", sdk.InvalidArgument(param, "must not be empty")
	}
	if strings.ContainsAny(v, "/?#") {
		return "", sdk.InvalidArgument(param, "%q is not a uuid", v)
	}
	return v, nil
}

func getActionsOp() sdk.Op {
	return sdk.Op{
		Name:   "get_actions",
		Doc:    "List a market's actions (GET markets/{market}/actions), or one action by uuid (GET actions/{uuid})",
		Effect: sdk.Read,
		Params: append([]sdk.Field{
			{Name: "market", Type: sdk.String, Default: "Market", Doc: "market uuid; Market is the real-time market"},
			{Name: "uuid", Type: sdk.String, Default: "", Doc: "one action's uuid (overrides market, as in vmt-connect)"},
		}, pageParams...),
		Results: actionsResults,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			if u := strings.TrimSpace(c.Args.String("uuid")); u != "" {
				u, err := scopedUUID("uuid", u)
				if err != nil {
					return nil, err
				}
				a, err := getOne(ctx, c, "get action "+u, "actions/"+url.PathEscape(u))
				if err != nil {
					return nil, err
				}
				return map[string]any{"actions": []map[string]any{snakeMap(a)}, "next_cursor": "", "total": 1, "pages": 1}, nil
			}
			market := c.Args.String("market")
			if market == "" {
				market = "Market"
			}
			m, err := scopedUUID("market", market)
			if err != nil {
				return nil, err
			}
			l, err := list(ctx, c, "list actions of market "+m, http.MethodGet, "markets/"+url.PathEscape(m)+"/actions", nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("actions", snakeMap), nil
		},
	}
}

// scopedActionsOp lists the actions of one entity, group or target.
func scopedActionsOp(name, scope, collection string) sdk.Op {
	return sdk.Op{
		Name:    name,
		Doc:     "List the actions of a " + scope + " (GET " + collection + "/{uuid}/actions)",
		Effect:  sdk.Read,
		Params:  append([]sdk.Field{{Name: "uuid", Type: sdk.String, Required: true, Doc: scope + " uuid"}}, pageParams...),
		Results: actionsResults,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			u, err := scopedUUID("uuid", c.Args.String("uuid"))
			if err != nil {
				return nil, err
			}
			l, err := list(ctx, c, "list actions of "+scope+" "+u, http.MethodGet, collection+"/"+url.PathEscape(u)+"/actions", nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("actions", snakeMap), nil
		},
	}
}

func getGroupEntitiesOp() sdk.Op {
	return sdk.Op{
		Name:   "get_group_entities",
		Doc:    "List a group's member entities in detail, with their consumers (GET groups/{uuid}/entities)",
		Effect: sdk.Read,
		Params: append([]sdk.Field{{Name: "uuid", Type: sdk.String, Required: true, Doc: "group uuid"}}, pageParams...),
		Results: append([]sdk.Field{
			{Name: "entities", Type: sdk.List, Elem: sdk.Object, Doc: "ServiceEntityApiDTOs in snake_case, with consumers"},
		}, pageResults...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			u, err := scopedUUID("uuid", c.Args.String("uuid"))
			if err != nil {
				return nil, err
			}
			l, err := list(ctx, c, "list entities of group "+u, http.MethodGet, "groups/"+url.PathEscape(u)+"/entities", nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("entities", snakeMap), nil
		},
	}
}
