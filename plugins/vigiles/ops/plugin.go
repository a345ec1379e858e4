// Package ops holds the Vigiles plugin's connection schema and ops. The wire
// facts follow vendors.md section 3 (timesys-api-toolkit, meta-timesys);
// the signing itself lives in the sign sub-package.
package ops

import (
	"github.com/tokenflow/tokenflow/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

// DefaultURL is the LinuxLink server the toolkit talks to by default.
const DefaultURL = "https://linuxlink.timesys.com"

// Plugin returns the Vigiles plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:    "vigiles",
		Version: Version,
		Doc:     "Timesys Vigiles / LinuxLink: HMAC-signed SBOM uploads, CVE reports, products and folders",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Default: DefaultURL,
				Doc: "Vigiles server base URL; must match the key file's server_url when it names one"},
			{Name: "key_file", Type: sdk.Secret,
				Doc: `content of the key file (JSON: email, key or organization_key, optional server_url), e.g. file.read_secret("~/timesys/linuxlink_key"); or give email and key instead`},
			{Name: "email", Type: sdk.String,
				Doc: "the key's user, with key, instead of key_file (CI: no key file needed)"},
			{Name: "key", Type: sdk.Secret,
				Doc: `the API key, with email, instead of key_file, e.g. secret("env:VIGILES_KEY")`},
			{Name: "dashboard_config", Type: sdk.String,
				Doc: `content of a dashboard config file (JSON: "product" or "group", optional "folder"): the default product and folder when product and folder are not given`},
			{Name: "product", Type: sdk.String,
				Doc: `default product token (the dashboard config's "product", "group" on enterprise servers)`},
			{Name: "folder", Type: sdk.String,
				Doc: `default folder token (the dashboard config's "folder")`},
		},
		Ops: []sdk.Op{
			getOp(), requestOp(), // generic: any path, for what no typed op covers yet
			heartbeatOp(),
			listProductsOp(),
			createProductOp(),
			listFoldersOp(),
			listManifestsOp(),
			uploadManifestOp(),
			deleteManifestOp(),
			latestReportOp(),
			listReportsOp(),
			rescanOp(),
			downloadReportOp(),
			compareReportsOp(),
			exportSBOMOp(),
			listCVEsOp(),
		},
	}
}
