package ops

import (
	"context"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

func acquireTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "acquire_token",
		Doc:    "Log in with the connection's username and password and return the OpsToken",
		Effect: sdk.Read, // a login changes no configuration; a dry-run may send it
		Results: []sdk.Field{
			{Name: "token", Type: sdk.Secret, Doc: "the OpsToken"},
			{Name: "expires_at", Type: sdk.Timestamp},
			{Name: "roles", Type: sdk.List, Elem: sdk.String},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, ar, err := acquire(ctx, c)
			if err != nil {
				return nil, err
			}
			// Reuse it for the connection's later calls, and release it at
			// the end like any session.
			c.Session().Set(sessionKey, tok)
			return map[string]any{"token": tok.token, "expires_at": tok.expiresAt.UTC().Format(time.RFC3339), "roles": ar.Roles}, nil
		},
	}
}

func versionOp() sdk.Op {
	return sdk.Op{
		Name:   "version",
		Doc:    "Return the VCF Operations release (GET /api/versions/current)",
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "release_name", Type: sdk.String},
			{Name: "major", Type: sdk.Int},
			{Name: "minor", Type: sdk.Int},
			{Name: "minor_minor", Type: sdk.Int},
			{Name: "patch", Type: sdk.Int},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var v struct {
				ReleaseName string `json:"releaseName"`
				Major       int    `json:"major"`
				Minor       int    `json:"minor"`
				MinorMinor  int    `json:"minorMinor"`
				Patch       int    `json:"patch"`
			}
			if err := do(ctx, c, "get version", http.MethodGet, "/suite-api/api/versions/current", nil, &v); err != nil {
				return nil, err
			}
			return map[string]any{"release_name": v.ReleaseName, "major": v.Major, "minor": v.Minor, "minor_minor": v.MinorMinor, "patch": v.Patch}, nil
		},
	}
}
