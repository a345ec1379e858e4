package ops

import (
	"context"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk"
)

// requestSpec is turbonomic.get and turbonomic.request: any path under the
// API base with the connection's login session (JSESSIONID), after the
// version check, as the typed ops send them.
var requestSpec = sdk.RequestSpec{
	Vendor:  "Turbonomic",
	PathDoc: "the API base /api/v3, e.g. /markets/Market/actions",
	Send: func(ctx context.Context, c *sdk.Call, r sdk.RawRequest) (*http.Response, []byte, error) {
		var body any
		if r.Body != nil {
			body = r.Body
		}
		return do(ctx, c, r.Method, r.Path, r.Query, body)
	},
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
