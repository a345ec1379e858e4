package ops

import (
	"context"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk"
)

// requestSpec is vcf.get and vcf.request: any path with the connection's
// credential (Bearer access token, OpsToken, or one login per connection,
// renewed once on a 401), as the typed ops send them.
var requestSpec = sdk.RequestSpec{
	Vendor:  "VCF",
	PathDoc: "the URL's root, e.g. /iam/v1/sso-realms",
	Send: func(ctx context.Context, c *sdk.Call, r sdk.RawRequest) (*http.Response, []byte, error) {
		var body any
		if r.Body != nil {
			body = r.Body
		}
		return auth.Send(ctx, c, func() (*http.Request, error) {
			return sdk.NewJSONRequest(ctx, r.Method, c.Conn.String("url"), r.PathQuery(), body)
		})
	},
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
