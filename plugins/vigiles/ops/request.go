package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

// requestSpec is vigiles.get and vigiles.request: any /api/v1 route, signed
// with the connection's key as the typed ops sign theirs. Vigiles takes
// parameters, not JSON: query and body are merged into the signed
// parameters (sent as the form body of a POST, the query otherwise); a
// body value must be a string, number or bool (or a list of them).
var requestSpec = sdk.RequestSpec{
	Vendor:  "Vigiles",
	PathDoc: "the URL's root, e.g. /api/v1/vigiles/manifests",
	Send: func(ctx context.Context, c *sdk.Call, r sdk.RawRequest) (*http.Response, []byte, error) {
		cr, err := credentialsFor(c)
		if err != nil {
			return nil, nil, err
		}
		params := url.Values{}
		for k, v := range r.Query {
			params[k] = v
		}
		for k, v := range r.Body {
			vals, ok := formValues(v)
			if !ok {
				return nil, nil, sdk.InvalidArgument("body", "%s: Vigiles takes parameters: want a string, number or bool (or a list of them), got %T", k, v)
			}
			params[k] = append(params[k], vals...)
		}
		base := c.Conn.String("url")
		if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, nil, sdk.InvalidArgument("url", "%q is not a base URL such as %s", base, DefaultURL)
		}
		req, err := sign.NewRequest(ctx, r.Method, base, r.Path, cr.email, cr.key, params)
		if err != nil {
			return nil, nil, sdk.Errorf(sdk.CodeInvalidArgument, "%s %s: %v", r.Method, r.Path, err)
		}
		hr := sdk.WithNote(req.Request, "hmac_msg", note(req.Message))
		hr.Header.Set("Accept", "application/json")
		resp, data, err := c.Send(hr)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusForbidden {
			// Say why Vigiles refuses (a signature it cannot verify).
			return nil, nil, responseError(r.Method+" "+r.Path, cr, base, resp, data)
		}
		return resp, data, nil
	},
}

func formValues(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		var out []string
		for _, e := range x {
			s, ok := formValues(e)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case map[string]any, nil:
		return nil, false
	}
	return []string{strings.TrimSpace(fmt.Sprint(v))}, true
}

func getOp() sdk.Op     { return sdk.GetOp(requestSpec) }
func requestOp() sdk.Op { return sdk.RequestOp(requestSpec) }
