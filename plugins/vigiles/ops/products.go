package ops

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

type product struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Token       string `json:"token"`
}

func (p product) result() map[string]any {
	return map[string]any{"token": p.Token, "name": p.Name, "description": p.Description}
}

var productFields = []sdk.Field{
	{Name: "token", Type: sdk.String, Doc: "product token (an identifier, not a credential)"},
	{Name: "name", Type: sdk.String},
	{Name: "description", Type: sdk.String},
}

func listProductsOp() sdk.Op {
	return sdk.Op{
		Name:   "list_products",
		Doc:    "List the products the key file's user can see",
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "products", Type: sdk.List, Elem: sdk.Object, Doc: "each with token, name and description"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var ps []product
			if err := do(ctx, c, "list products", http.MethodGet, apiPrefix+"/products", nil, &ps); err != nil {
				return nil, err
			}
			out := make([]any, 0, len(ps))
			for _, p := range ps {
				out = append(out, p.result())
			}
			return map[string]any{"products": out}, nil
		},
	}
}

func createProductOp() sdk.Op {
	return sdk.Op{
		Name:   "create_product",
		Doc:    "Create a product",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "name", Type: sdk.String, Required: true},
			{Name: "desc", Type: sdk.String, Default: "", Doc: "description"},
		},
		Results: productFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			name := strings.TrimSpace(c.Args.String("name"))
			if name == "" {
				return nil, sdk.InvalidArgument("name", "must not be empty")
			}
			params := url.Values{"name": {name}}
			if d := c.Args.String("desc"); d != "" {
				params.Set("desc", d)
			}
			var p product
			if err := do(ctx, c, "create product", http.MethodPost, apiPrefix+"/products", params, &p); err != nil {
				return nil, err
			}
			return p.result(), nil
		},
	}
}
