package ops

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tokenflow/tokenflow/sdk"
)

type folder struct {
	FolderToken       string `json:"folder_token"`
	FolderName        string `json:"folder_name"`
	FolderDescription string `json:"folder_description"`
	CreationDate      string `json:"creation_date"`
	ProductToken      string `json:"product_token"`
}

func listFoldersOp() sdk.Op {
	return sdk.Op{
		Name:   "list_folders",
		Doc:    "List folders, of one product (default: the connection's product) or all",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "product_token", Type: sdk.String, Doc: "default: the connection's product; none lists every folder"},
		},
		Results: []sdk.Field{
			{Name: "folders", Type: sdk.List, Elem: sdk.Object,
				Doc: "each with folder_token, folder_name, folder_description, creation_date and product_token"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			pt := c.Args.String("product_token")
			if pt == "" {
				pt = connDefault(c, "product")
			}
			pt, err := token("product_token", pt, false)
			if err != nil {
				return nil, err
			}
			params := url.Values{}
			if pt != "" {
				params.Set("product_token", pt)
			}
			var fs []folder
			if err := do(ctx, c, "list folders", http.MethodGet, apiPrefix+"/folders", params, &fs); err != nil {
				return nil, err
			}
			out := make([]any, 0, len(fs))
			for _, f := range fs {
				out = append(out, map[string]any{
					"folder_token": f.FolderToken, "folder_name": f.FolderName,
					"folder_description": f.FolderDescription, "creation_date": f.CreationDate,
					"product_token": f.ProductToken,
				})
			}
			return map[string]any{"folders": out}, nil
		},
	}
}
