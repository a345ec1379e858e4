// Package ops holds the HyperFlex plugin's connection schema and ops. The wire shapes follow
// vendors.md section 1: the AAA API under /aaa/v1 (obtain, refresh, validate, revoke; POST with
// a JSON body, no Authorization header) as the hx-api-token-manager client calls it, and that
// client's XML token file, which the pure ops encode_token_file and decode_token_file write and
// read so flows can take over files the Python tool wrote.
//
// Logins are rate limited since HX 4.0(2a), so the ops take tokens as parameters and return
// them as results: a flow keeps one token and reuses it (flows/hyperflex/token.star) rather
// than logging in on every run. The plugin keeps no session.
package ops

import (
	"github.com/tokenflow/tokenflow/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

// Plugin returns the HyperFlex plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:    "hyperflex",
		Version: Version,
		Doc:     "Cisco HyperFlex AAA API tokens (obtain, refresh, validate, revoke) and hx-api-token-manager token files",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true, Doc: "HyperFlex Connect / cluster management URL, e.g. https://10.1.1.10"},
		},
		Ops: []sdk.Op{
			getOp(), requestOp(), // generic: any path, for what no typed op covers yet
			obtainTokenOp(),
			refreshTokenOp(),
			validateTokenOp(),
			revokeTokenOp(),
			decodeTokenOp(),
			encodeTokenFileOp(),
			decodeTokenFileOp(),
		},
	}
}
