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
		for attempt := 0; ; attempt++ {
			tok, err := token(ctx, c)
			if err != nil {
				return nil, nil, err
			}
			req, err := sdk.NewJSONRequest(ctx, r.Method, c.Conn.String("url"), r.PathQuery(), body)
			if err != nil {
				return nil, nil, err
			}
			req.Header.Set("Authorization", tok.scheme+" "+tok.token)
			resp, data, err := c.Send(req)
			if err != nil {
				return nil, nil, err
			}
			if resp.StatusCode == http.StatusUnauthorized && tok.acquired && attempt == 0 {
				c.Session().Delete(sessionKey)
				continue
			}
			return resp, data, nil
		}
	},
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
