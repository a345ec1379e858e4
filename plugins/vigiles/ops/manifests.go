package ops

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

type manifestInfo struct {
	ManifestName  string `json:"manifest_name"`
	ManifestToken string `json:"manifest_token"`
	ProductToken  string `json:"product_token"`
	FolderToken   string `json:"folder_token"`
	UploadDate    string `json:"upload_date"`
}

func listManifestsOp() sdk.Op {
	return sdk.Op{
		Name:   "list_manifests",
		Doc:    "List manifests of a folder or a product (default: the connection's folder, else its product, else all)",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "folder_token", Type: sdk.String, Doc: "list this folder's manifests"},
			{Name: "product_token", Type: sdk.String, Doc: "list this product's manifests; give folder_token or product_token, not both"},
		},
		Results: []sdk.Field{
			{Name: "manifests", Type: sdk.List, Elem: sdk.Object,
				Doc: "each with manifest_token, manifest_name, product_token, folder_token and upload_date"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			ft, err := token("folder_token", c.Args.String("folder_token"), false)
			if err != nil {
				return nil, err
			}
			pt, err := token("product_token", c.Args.String("product_token"), false)
			if err != nil {
				return nil, err
			}
			if ft != "" && pt != "" {
				return nil, sdk.InvalidArgument("folder_token", "give folder_token or product_token, not both (Vigiles filters by one)")
			}
			params := url.Values{}
			switch {
			case ft != "":
				params.Set("folder_token", ft)
			case pt != "":
				params.Set("product_token", pt)
			case connDefault(c, "folder") != "":
				params.Set("folder_token", connDefault(c, "folder"))
			case connDefault(c, "product") != "":
				params.Set("product_token", connDefault(c, "product"))
			}
			var ms []manifestInfo
			if err := do(ctx, c, "list manifests", http.MethodGet, apiPrefix+"/manifests", params, &ms); err != nil {
				return nil, err
			}
			out := make([]any, 0, len(ms))
			for _, m := range ms {
				out = append(out, map[string]any{
					"manifest_token": m.ManifestToken, "manifest_name": m.ManifestName,
					"product_token": m.ProductToken, "folder_token": m.FolderToken, "upload_date": m.UploadDate,
				})
			}
			return map[string]any{"manifests": out}, nil
		},
	}
}

func uploadManifestOp() sdk.Op {
	return sdk.Op{
		Name:   "upload_manifest",
		Doc:    "Upload an SBOM manifest to a product (and folder) and scan it for CVEs",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "manifest", Type: sdk.String, Required: true,
				Doc: `the manifest's content (Vigiles JSON manifest, SPDX or CycloneDX), e.g. file.read("build/manifest.json")`},
			{Name: "manifest_name", Type: sdk.String, Doc: "default: chosen by the server from the manifest"},
			{Name: "product_token", Type: sdk.String, Doc: "default: the connection's product; none uploads to the Private Workspace"},
			{Name: "folder_token", Type: sdk.String, Doc: "default: the connection's folder"},
			{Name: "subfolder_name", Type: sdk.String, Doc: "upload into this subfolder of the product or folder, created when missing"},
			{Name: "filter_results", Type: sdk.Bool, Default: false, Doc: "apply every filter configured on the dashboard, not only the kernel and U-Boot config filters"},
			{Name: "upload_only", Type: sdk.Bool, Default: false, Doc: "upload without generating a CVE report"},
			{Name: "extra_fields", Type: sdk.List, Elem: sdk.String, Doc: "extra CVE fields in the report: assigner, description, impact, modified, problem_types, published, references"},
			{Name: "kernel_config", Type: sdk.String, Doc: "kernel .config content, to filter out CVEs of kernel code that is not built"},
			{Name: "uboot_config", Type: sdk.String, Doc: "U-Boot .config content, to filter bootloader CVEs the same way"},
		},
		Results: reportFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			manifest := c.Args.String("manifest")
			if strings.TrimSpace(manifest) == "" {
				return nil, sdk.InvalidArgument("manifest", "the manifest is empty")
			}
			pt := c.Args.String("product_token")
			if pt == "" {
				pt = connDefault(c, "product")
			}
			pt, err := token("product_token", pt, false)
			if err != nil {
				return nil, err
			}
			ft := c.Args.String("folder_token")
			if ft == "" {
				ft = connDefault(c, "folder")
			}
			ft, err = token("folder_token", ft, false)
			if err != nil {
				return nil, err
			}
			sub := strings.TrimSpace(c.Args.String("subfolder_name"))
			if pt == "" && (ft != "" || sub != "") {
				return nil, sdk.InvalidArgument("product_token",
					"uploading into a folder needs a product token (without one the manifest goes to the Private Workspace, which has no folders)")
			}
			extra, err := extraFieldsArg(c)
			if err != nil {
				return nil, err
			}
			params := url.Values{
				"manifest":       {manifest},
				"filter_results": {sign.Bool(c.Args.Bool("filter_results"))},
				"upload_only":    {sign.Bool(c.Args.Bool("upload_only"))},
			}
			set := func(name, v string) {
				if v != "" {
					params.Set(name, v)
				}
			}
			set("manifest_name", c.Args.String("manifest_name"))
			set("product_token", pt)
			set("folder_token", ft)
			set("subfolder_name", sub)
			set("kernel_config", c.Args.String("kernel_config"))
			set("uboot_config", c.Args.String("uboot_config"))
			if len(extra) > 0 {
				params["with_field"] = extra
			}
			var r report
			if err := do(ctx, c, "upload manifest", http.MethodPost, apiPrefix+"/manifests", params, &r); err != nil {
				return nil, err
			}
			return r.result(c.Conn.String("url"))
		},
	}
}

func deleteManifestOp() sdk.Op {
	return sdk.Op{
		Name:   "delete_manifest",
		Doc:    "Delete a manifest and its reports (cannot be undone)",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "token", Type: sdk.String, Required: true, Doc: "the manifest token"},
		},
		Results: []sdk.Field{
			{Name: "success", Type: sdk.Bool},
			{Name: "message", Type: sdk.String, Doc: "the server's message"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := token("token", c.Args.String("token"), true)
			if err != nil {
				return nil, err
			}
			// The toolkit wants confirmed=True against accidents; calling
			// this op (after a dry-run shows it) is that confirmation.
			params := url.Values{"confirmed": {sign.Bool(true)}}
			var out struct {
				Success bool   `json:"success"`
				Message string `json:"message"`
			}
			if err := do(ctx, c, "delete manifest", http.MethodDelete, apiPrefix+"/manifests/"+tok, params, &out); err != nil {
				return nil, err
			}
			if !out.Success {
				return nil, sdk.Errorf(sdk.CodeInternal, "delete manifest %s: the server did not delete it: %s", tok, out.Message)
			}
			return map[string]any{"success": true, "message": out.Message}, nil
		},
	}
}
