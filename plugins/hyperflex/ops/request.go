package ops

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

// requestSpec is hyperflex.get and hyperflex.request. A HyperFlex
// connection holds no credential (the AAA ops take theirs as arguments), so
// these take the access token as an argument too and send it as
// "Authorization: Bearer", as the REST API (and hx-api-token-manager's
// callers) expect; without one the request goes unauthenticated, like the
// AAA calls themselves.
var requestSpec = sdk.RequestSpec{
	Vendor:  "HyperFlex",
	PathDoc: "the URL's root, e.g. /coreapi/v1/clusters",
	Params: []sdk.Field{
		{Name: "access_token", Type: sdk.Secret, Doc: "access token to send as Authorization: Bearer, e.g. tok.access_token from obtain_token"},
	},
	Send: func(ctx context.Context, c *sdk.Call, r sdk.RawRequest) (*http.Response, []byte, error) {
		body, err := r.JSONBody()
		if err != nil {
			return nil, nil, err
		}
		base := strings.TrimRight(c.Conn.String("url"), "/")
		req, err := http.NewRequestWithContext(ctx, r.Method, base+r.PathQuery(), bytes.NewReader(body))
		if err != nil {
			return nil, nil, sdk.InvalidArgument("url", "%v", err)
		}
		if body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		if t := c.Args.String("access_token"); t != "" {
			req.Header.Set("Authorization", "Bearer "+t)
		}
		return c.Send(req)
	},
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
