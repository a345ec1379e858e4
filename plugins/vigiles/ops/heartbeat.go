package ops

import (
	"context"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk"
)

// heartbeatPath is where the toolkit's README dry-run example sends the
// heartbeat (vendors.md section 3).
const heartbeatPath = "/api/v1/heartbeat"

func heartbeatOp() sdk.Op {
	return sdk.Op{
		Name: "heartbeat",
		Doc:  "Check that the server answers and accepts the key file's signature",
		// A POST, but it changes nothing: a dry-run sends it.
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "ok", Type: sdk.Bool, Doc: "the server accepted the signed request"},
			{Name: "email", Type: sdk.String, Doc: "the key file's user"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var out struct {
				OK bool `json:"ok"`
			}
			if err := do(ctx, c, "heartbeat", http.MethodPost, heartbeatPath, nil, &out); err != nil {
				return nil, err
			}
			cr, _ := credentialsFor(c) // parsed fine a moment ago
			return map[string]any{"ok": out.OK, "email": cr.email}, nil
		},
	}
}
