package ops

import (
	"context"
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
			{Name: "release_name", Type: sdk.String, Wire: "releaseName"},
			{Name: "major", Type: sdk.Int},
			{Name: "minor", Type: sdk.Int},
			{Name: "minor_minor", Type: sdk.Int, Wire: "minorMinor"},
			{Name: "patch", Type: sdk.Int},
		},
		Get: "/suite-api/api/versions/current",
	}
}
