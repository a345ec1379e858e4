// Package ops holds the BIG-IP plugin's connection schema and ops. The wire
// shapes follow iControl REST as F5's own clients use it
// (f5-icontrol-rest-python, f5-common-python): login at
// /mgmt/shared/authn/login, tokens under /mgmt/shared/authz/tokens, the
// X-F5-Auth-Token header.
package ops

import (
	"github.com/tokenflow/tokenflow/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

// BIG-IP's limits.
const (
	// MaxTimeout is BIG-IP's absolute token timeout in seconds: a token
	// cannot live longer than this from its start.
	MaxTimeout = 36000
	// DefaultLoginProvider is the local (and system-auth) login provider.
	DefaultLoginProvider = "tmos"
)

// Plugin returns the BIG-IP plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:    "bigip",
		Version: Version,
		Doc:     "F5 BIG-IP iControl REST: auth tokens (log in, list, extend, revoke) and the TMOS version",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true, Doc: "BIG-IP management URL, e.g. https://bigip.example.com"},
			{Name: "username", Type: sdk.String, Doc: "user the connection logs in as"},
			{Name: "password", Type: sdk.Secret, Doc: "password of username"},
			{Name: "login_provider", Type: sdk.String, Default: DefaultLoginProvider, Doc: "loginProviderName of username"},
			{Name: "token", Type: sdk.Secret, Doc: "an existing auth token to use instead of logging in (never revoked at the end); when BIG-IP says it no longer exists, the connection logs in with username and password if given"},
		},
		Ops: []sdk.Op{
			getOp(), requestOp(), // generic: any path, for what no typed op covers yet
			loginOp(),
			listTokensOp(),
			getTokenOp(),
			extendTokenOp(),
			revokeTokenOp(),
			revokeAllTokensOp(),
			versionOp(),
		},
		CloseSession: closeSession,
	}
}
