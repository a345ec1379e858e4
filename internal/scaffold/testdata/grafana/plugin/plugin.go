// Package plugin declares the grafana plugin's ops: one read (find_token) and two writes
// (create_token, delete_token) against the token API of sim/.
package plugin

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// Plugin returns the plugin's declaration. Each op's params and results come from its
// handler's argument and result structs (json names, `sdk` and `doc` tags).
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name: "grafana", Version: "0.1.0", Doc: "grafana API tokens",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true, Doc: "base URL of the grafana API"},
			{Name: "api_key", Type: sdk.Secret, Required: true, Doc: "API key sent as a bearer token"},
		},
		Ops: []sdk.Op{
			sdk.ReadOp("find_token", "Find the tokens of a name", findToken),
			sdk.WriteOp("create_token", "Create a token; its secret is answered once", createToken),
			sdk.WriteOp("delete_token", "Delete a token by id", deleteToken),
		},
	}
}

// api reaches the connection's "url" with its "api_key" as a bearer token.
var api sdk.BearerJSON

type nameArg struct {
	Name string `json:"name" sdk:"required" doc:"the token's name"`
}

type found struct {
	Found bool     `json:"found"`
	IDs   []string `json:"ids"`
}

func findToken(ctx context.Context, c *sdk.Call, a nameArg) (found, error) {
	var out struct {
		Tokens []struct {
			ID string `json:"id"`
		} `json:"tokens"`
	}
	err := api.Do(ctx, c, http.MethodGet, "/api/tokens?name="+url.QueryEscape(a.Name), nil, &out)
	f := found{IDs: []string{}}
	for _, t := range out.Tokens {
		f.IDs = append(f.IDs, t.ID)
	}
	f.Found = len(f.IDs) > 0
	return f, err
}

type createArgs struct {
	Name     string `json:"name" sdk:"required" doc:"the token's name"`
	TTLHours int    `json:"ttl_hours" sdk:"default=720" doc:"hours until the token expires"`
}

type created struct {
	ID        string    `json:"id"`
	Token     string    `json:"token" sdk:"secret"`
	ExpiresAt time.Time `json:"expires_at"`
}

func createToken(ctx context.Context, c *sdk.Call, a createArgs) (out created, err error) {
	err = api.Do(ctx, c, http.MethodPost, "/api/tokens", a, &out)
	return out, err
}

type idArg struct {
	ID string `json:"id" sdk:"required" doc:"the token's id"`
}

type deleted struct {
	Deleted bool `json:"deleted"`
}

func deleteToken(ctx context.Context, c *sdk.Call, a idArg) (deleted, error) {
	err := api.Do(ctx, c, http.MethodDelete, "/api/tokens/"+url.PathEscape(a.ID), nil, nil)
	if sdk.IsCode(err, sdk.CodeNotFound) {
		return deleted{false}, nil // already gone: the flow's goal holds
	}
	return deleted{err == nil}, err
}
