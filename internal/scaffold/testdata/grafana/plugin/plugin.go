// Package plugin declares the grafana plugin's ops on Grafana's service account API.
package plugin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// Plugin returns the plugin's declaration. Each op's params and results are its types' fields.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name: "grafana", Version: "0.1.0", Doc: "Grafana service accounts and their tokens",
		Connection: api.Fields("base URL of the Grafana server", "an admin's service account token"),
		Ops: []sdk.Op{
			sdk.WriteOp("create_service_account", "Create a service account",
				sdk.Route[accountArgs, account](api, "POST /api/serviceaccounts")),
			sdk.WriteOp("issue_token", "Issue a service account token; its key is answered once",
				sdk.Route[tokenArgs, token](api, "POST /api/serviceaccounts/{service_account_id}/tokens")),
			sdk.ReadOp("list_tokens", "List a service account's tokens",
				sdk.Route[accountID, tokens](api, "GET /api/serviceaccounts/{service_account_id}/tokens")),
			sdk.WriteOp("delete_token", "Delete a service account's token", deleteToken),
		},
	}
}

var api sdk.BearerJSON // the connection's url, with its api_key as a bearer token

type (
	accountArgs struct {
		Name string `json:"name" sdk:"required" doc:"the service account's name"`
		Role string `json:"role" sdk:"default=Viewer" doc:"its org role: Viewer, Editor or Admin"`
	}
	account struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	accountID struct {
		ServiceAccountID int64 `json:"service_account_id" sdk:"required" doc:"the service account's id"`
	}
	tokenArgs struct {
		accountID
		Name          string `json:"name" sdk:"required" doc:"the token's name"`
		SecondsToLive int64  `json:"seconds_to_live" wire:"secondsToLive" sdk:"default=2592000" doc:"its lifetime"`
	}
	token struct {
		ID         int64      `json:"id"`
		Name       string     `json:"name"`
		Key        string     `json:"key,omitempty" sdk:"secret"` // answered by issue_token only
		Expiration *time.Time `json:"expiration"`
	}
	tokens struct {
		Tokens []token `json:"tokens"`
	}
	tokenID struct {
		accountID
		TokenID int64 `json:"token_id" sdk:"required" doc:"the token's id"`
	}
	deleted struct {
		Deleted bool `json:"deleted"`
	}
)

func deleteToken(ctx context.Context, c *sdk.Call, a tokenID) (deleted, error) {
	path := fmt.Sprintf("/api/serviceaccounts/%d/tokens/%d", a.ServiceAccountID, a.TokenID)
	_, err := sdk.JSON[any](ctx, c, api, http.MethodDelete, path, nil)
	if sdk.IsCode(err, sdk.CodeNotFound) {
		return deleted{false}, nil // already gone: the flow's goal holds
	}
	return deleted{err == nil}, err
}
