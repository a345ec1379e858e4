package ops

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

func getMarketsOp() sdk.Op {
	return sdk.Op{
		Name:   "get_markets",
		Doc:    `List the markets (GET markets), or one (uuid = "Market" is the real-time market)`,
		Effect: sdk.Read,
		Params: []sdk.Field{{Name: "uuid", Type: sdk.String, Default: "", Doc: "one market's uuid"}},
		Results: []sdk.Field{
			{Name: "markets", Type: sdk.List, Elem: sdk.Object},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			path := "markets"
			if u := c.Args.String("uuid"); u != "" {
				path += "/" + url.PathEscape(u)
			}
			resp, data, err := do(ctx, c, http.MethodGet, path, url.Values{"disable_hateoas": {"true"}}, nil)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode < 200 || resp.StatusCode >= 300 {
				return nil, apiError("get markets", resp, data)
			}
			items, err := decodeItems(data)
			if err != nil {
				return nil, sdk.Errorf(sdk.CodeInternal, "get markets: %v", err)
			}
			out := make([]map[string]any, 0, len(items))
			for _, it := range items {
				out = append(out, snakeMap(it))
			}
			return map[string]any{"markets": out}, nil
		},
	}
}

func getEntitiesOp() sdk.Op {
	return sdk.Op{
		Name: "get_entities",
		Doc:  "List entities: of one type in the real-time market (GET search?types=<type>), or all of a market (GET markets/{market}/entities)",
		Params: append([]sdk.Field{
			{Name: "entity_type", Type: sdk.String, Default: "", Doc: `className, e.g. "VirtualMachine"; "" = every type`},
			{Name: "market", Type: sdk.String, Default: "Market", Doc: "market uuid; Market is the real-time market"},
		}, pageParams...),
		Effect:  sdk.Read,
		Results: append([]sdk.Field{{Name: "entities", Type: sdk.List, Elem: sdk.Object}}, pageResults...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			typ, market := strings.TrimSpace(c.Args.String("entity_type")), c.Args.String("market")
			if market == "" {
				market = "Market"
			}
			var l *listing
			var err error
			if typ != "" && market == "Market" {
				l, err = list(ctx, c, "list "+typ+" entities", http.MethodGet, "search", url.Values{"types": {typ}}, nil)
			} else {
				l, err = list(ctx, c, "list entities of market "+market, http.MethodGet, "markets/"+url.PathEscape(market)+"/entities", nil, nil)
				if err == nil && typ != "" {
					// Another market has no type filter on the server: filter here, as
					// vmt-connect's get_entities does.
					kept := l.items[:0]
					for _, it := range l.items {
						if cn, _ := it["className"].(string); cn == typ {
							kept = append(kept, it)
						}
					}
					l.items = kept
				}
			}
			if err != nil {
				return nil, err
			}
			return l.result("entities", snakeMap), nil
		},
	}
}

// entityClasses maps the entity types search_by_name knows to their search filter prefix
// (vmt-connect's _class_filter_prefix).
var entityClasses = map[string]string{
	"Application": "apps", "ApplicationServer": "appSrvs", "Database": "database",
	"DiskArray": "diskarray", "Namespace": "namespaces", "PhysicalMachine": "pms", "Storage": "storage",
	"StorageCluster": "storageClusters", "StorageController": "storagecontroller", "Switch": "switch",
	"VirtualApplication": "vapps", "VirtualDataCenter": "vdcs", "VirtualMachine": "vms",
}

func searchByNameOp() sdk.Op {
	return sdk.Op{
		Name:   "search_by_name",
		Doc:    "Find entities by display name (POST search with a <prefix>ByName criterion, like vmt-connect's search_by_name)",
		Effect: sdk.Read, // a query sent as POST
		Params: []sdk.Field{
			{Name: "name", Type: sdk.String, Required: true},
			{Name: "entity_type", Type: sdk.String, Default: "", Doc: `className, e.g. "VirtualMachine"; "" searches every known type, one request each`},
			{Name: "case_sensitive", Type: sdk.Bool, Default: false},
		},
		Results: []sdk.Field{{Name: "results", Type: sdk.List, Elem: sdk.Object}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			name, typ := c.Args.String("name"), strings.TrimSpace(c.Args.String("entity_type"))
			var classes []string
			if typ != "" {
				if _, ok := entityClasses[typ]; !ok {
					known := make([]string, 0, len(entityClasses))
					for k := range entityClasses {
						known = append(known, k)
					}
					sort.Strings(known)
					return nil, sdk.InvalidArgument("entity_type", "unknown type %q (known: %s)", typ, strings.Join(known, ", "))
				}
				classes = []string{typ}
			} else {
				for k := range entityClasses {
					classes = append(classes, k)
				}
				sort.Strings(classes)
			}
			out := []map[string]any{}
			for _, cls := range classes {
				dto := map[string]any{
					"className": cls,
					"criteriaList": []map[string]any{{
						"expType": "EQ", "expVal": name, "caseSensitive": c.Args.Bool("case_sensitive"),
						"filterType": entityClasses[cls] + "ByName",
					}},
				}
				l, err := list(ctx, c, "search "+cls+" by name", http.MethodPost, "search", nil, dto)
				if err != nil {
					return nil, err
				}
				for _, it := range l.items {
					out = append(out, snakeMap(it))
				}
			}
			return map[string]any{"results": out}, nil
		},
	}
}

// targetResult drops the values of secret input fields, whatever the server answered.
func targetResult(m map[string]any) map[string]any {
	out := snakeMap(m)
	if fields, ok := out["input_fields"].([]any); ok {
		for _, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				if secret, _ := fm["is_secret"].(bool); secret {
					delete(fm, "value")
				}
			}
		}
	}
	return out
}

func getTargetsOp() sdk.Op {
	return sdk.Op{
		Name:   "get_targets",
		Doc:    "List the targets (GET targets); secret input field values are never returned",
		Effect: sdk.Read,
		Params: append([]sdk.Field{{Name: "uuid", Type: sdk.String, Default: "", Doc: "one target's uuid"}}, pageParams...),
		Results: append([]sdk.Field{
			{Name: "targets", Type: sdk.List, Elem: sdk.Object},
		}, pageResults...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			path := "targets"
			if u := c.Args.String("uuid"); u != "" {
				path += "/" + url.PathEscape(u)
			}
			l, err := list(ctx, c, "list targets", http.MethodGet, path, nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("targets", targetResult), nil
		},
	}
}
