// Package ops holds the Turbonomic plugin's connection schema and ops. The wire shapes follow
// vendors.md section 2: vmt-connect (vmtconnect/__init__.py, security.py), turbo-api and the
// XL source. Every op that talks to the appliance first checks its version against
// min_version, once per connection, so an unsupported release is refused before any write.
package ops

import (
	"github.com/tokenflow/tokenflow/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

// Plugin returns the Turbonomic plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:    "turbonomic",
		Version: Version,
		Doc:     "Turbonomic REST API (/api/v3): version gate, users and service accounts, groups, targets, markets, entities and actions, vmt-connect credential files",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true, Doc: "appliance base URL, e.g. https://turbonomic.example.com (/api/v3/ is added)"},
			{Name: "username", Type: sdk.String, Doc: "user to log in as"},
			{Name: "password", Type: sdk.Secret, Doc: "password of username"},
			{Name: "auth", Type: sdk.Secret, Doc: `instead of username/password: vmt-connect's base64("user:password") auth string`},
			{Name: "min_version", Type: sdk.String, Default: "", Doc: `accepted releases, vmt-connect VersionSpec style: "7.21+", "8.14.3", "8.0-8.14.3", "!8.1.2", comma-separated; "" = 7.21+ for XL, 6.1+ for Classic`},
			{Name: "allow_snapshot", Type: sdk.Bool, Default: false, Doc: "accept a development (-SNAPSHOT) build"},
		},
		Ops: []sdk.Op{
			getOp(), requestOp(), // generic: any path, for what no typed op covers yet
			versionOp(),
			getUsersOp(),
			createUserOp(),
			deleteUserOp(),
			loginCheckOp(),
			getGroupsOp(),
			getGroupByNameOp(),
			addStaticGroupOp(),
			addStaticGroupMembersOp(),
			getTargetsOp(),
			getMarketsOp(),
			getEntitiesOp(),
			searchByNameOp(),
			getActionsOp(),
			scopedActionsOp("get_entity_actions", "entity", "entities"),
			scopedActionsOp("get_group_actions", "group", "groups"),
			scopedActionsOp("get_target_actions", "target", "targets"),
			getGroupEntitiesOp(),
			decryptCredentialsOp(),
			encryptCredentialsOp(),
		},
		CloseSession: closeSession,
	}
}
