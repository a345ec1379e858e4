package ops

import (
	"context"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk"
)

// requestSpec is bigip.get and bigip.request: any iControl REST path with
// the connection's X-F5-Auth-Token, logged in and renewed as the typed ops
// do.
var requestSpec = sdk.RequestSpec{
	Vendor:  "BIG-IP iControl REST",
	PathDoc: "the URL's root, e.g. /mgmt/tm/sys/global-settings",
	Send: func(ctx context.Context, c *sdk.Call, r sdk.RawRequest) (*http.Response, []byte, error) {
		var body any
		if r.Body != nil {
			body = r.Body
		}
		resp, data, err := do(ctx, c, request{what: r.Method + " " + r.Path, method: r.Method, path: r.PathQuery(), body: body})
		if resp != nil {
			// do's error for a non-2xx status is the generic op's to
			// decide (expect = [...]).
			return resp, data, nil
		}
		return nil, nil, err
	},
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
