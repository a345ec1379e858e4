// Package ops holds the VCF plugin's connection schema and ops. The wire
// shapes follow the VCF 9.1 Operations OpenAPI spec (suite-api, IAM under
// /api/fleet-management/iam).
package ops

import (
	"github.com/tokenflow/tokenflow/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

const iamPrefix = "/suite-api/api/fleet-management/iam"

// Plugin returns the VCF plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:    "vcf",
		Version: Version,
		Doc:     "VMware VCF 9.1 Operations IAM: realms, API clients, role assignments and API tokens",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true, Doc: "VCF Operations base URL, e.g. https://vcf-ops.example.com"},
			{Name: "username", Type: sdk.String, Doc: "user to acquire an OpsToken with"},
			{Name: "password", Type: sdk.Secret, Doc: "password of username"},
			{Name: "auth_source", Type: sdk.String, Doc: "authentication source of username (optional)"},
			{Name: "token", Type: sdk.Secret, Doc: "an existing OpsToken to use instead of username/password (sent as Authorization: OpsToken)"},
			{Name: "access_token", Type: sdk.Secret, Doc: "a VCF SSO access token (from the identity broker, e.g. get_access_token) to use instead of username/password or token (sent as Authorization: Bearer)"},
			{Name: "vidb_url", Type: sdk.String, Endpoint: true, Doc: "the identity broker's base URL, where API tokens are exchanged (verify_token); needed when it is not on url's host"},
		},
		Ops: []sdk.Op{
			getOp(), requestOp(), // generic: any path, for what no typed op covers yet
			acquireTokenOp(),
			versionOp(),
			listRealmsOp(),
			findRealmOp(),
			createAPIClientOp(),
			getAPIClientOp(),
			findAPIClientOp(),
			deleteAPIClientOp(),
			getRolesOp(),
			assignRolesOp(),
			deleteRolesOp(),
			issueTokenOp(),
			queryTokensOp(),
			getTokenOp(),
			regenerateTokenOp(),
			deleteTokenOp(),
			verifyTokenOp(),
			getAccessTokenOp(),
		},
		CloseSession: closeSession,
		Auth:         auth,
	}
}
