package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/sdk"
)

const apiPrefix = "/api/v1/vigiles"

// maxNote bounds the hmac_msg note shown in a dry-run plan. An upload's
// message holds the whole manifest, which the plan already shows as the
// request body; past this size the note keeps the head and the message's
// length and SHA-256, enough to check a recomputation.
const maxNote = 4096

// do sends one signed request and decodes a 2xx JSON answer into out (when
// not nil). what names the request in errors ("upload manifest"). Every
// request carries its signed message as the dry-run note hmac_msg.
func do(ctx context.Context, c *sdk.Call, what, method, path string, params url.Values, out any) error {
	_, data, err := send(ctx, c, what, method, path, params, "application/json")
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return sdk.Errorf(sdk.CodeInternal, "%s: the server's answer is not the JSON Vigiles sends (%v); is url a Vigiles server?", what, err)
	}
	return nil
}

// send sends one signed request and returns a 2xx answer as it came (a
// report file, an SBOM); any other status is an error.
func send(ctx context.Context, c *sdk.Call, what, method, path string, params url.Values, accept string) (*http.Response, []byte, error) {
	cr, err := credentialsFor(c)
	if err != nil {
		return nil, nil, err
	}
	if raw := c.Conn.String("dashboard_config"); strings.TrimSpace(raw) != "" {
		if _, err := parseDashboardConfig(raw); err != nil {
			return nil, nil, err
		}
	}
	base := c.Conn.String("url")
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, nil, sdk.InvalidArgument("url", "%q is not a base URL such as %s", base, DefaultURL)
	}
	req, err := sign.NewRequest(ctx, method, base, path, cr.email, cr.key, params)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.CodeInvalidArgument, "%s: %v", what, err)
	}
	r := sdk.WithNote(req.Request, "hmac_msg", note(req.Message))
	r.Header.Set("Accept", accept)
	resp, data, err := c.Send(r)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, responseError(what, cr, base, resp, data)
	}
	return resp, data, nil
}

// responseError explains the status codes Vigiles uses (meta-timesys
// scripts/lib/llapi.py lists their meanings).
func responseError(what string, cr *credentials, base string, resp *http.Response, body []byte) error {
	e := sdk.FromResponse(what, resp, body)
	switch resp.StatusCode {
	case http.StatusForbidden:
		// Vigiles answers a signature it cannot verify with 403.
		e.Code = sdk.CodeUnauthenticated
		e.Message += fmt.Sprintf(" (Vigiles answers 403 when it cannot verify the request signature: check that the key file of %s is current and meant for %s; some routes also need a Vigiles Prime subscription)", cr.email, base)
	case http.StatusPreconditionFailed:
		e.Code = sdk.CodeInvalidArgument
		e.Param = "manifest"
		if !strings.Contains(strings.ToLower(e.Message), "malformed") {
			e.Message += " (the manifest is malformed or missing fields)"
		}
	case http.StatusMethodNotAllowed:
		e.Message += " (wrong method or URL: is url the Vigiles server's base URL?)"
	case http.StatusBadRequest:
		e.Message += " (the request was empty or insufficient)"
	}
	return e
}

// note is the hmac_msg shown in a dry-run plan.
func note(msg string) string {
	if len(msg) <= maxNote {
		return msg
	}
	cut := maxNote
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in all, sha256 %x)", msg[:cut], len(msg), sha256.Sum256([]byte(msg)))
}

// token checks a resource token (product, folder, manifest) that goes into a
// path or a parameter: tokens are identifiers, never paths.
func token(param, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", sdk.InvalidArgument(param, "must not be empty")
		}
		return "", nil
	}
	if strings.ContainsAny(v, "/?#% \t\r\n") || !utf8.ValidString(v) {
		return "", sdk.InvalidArgument(param, "%q is not a Vigiles token (tokens hold no '/', '?', '#', '%%' or spaces)", v)
	}
	return v, nil
}

// stringList converts a list argument to strings.
func stringList(c *sdk.Call, param string) ([]string, error) {
	var out []string
	for i, v := range c.Args.List(param) {
		s, ok := v.(string)
		if !ok {
			return nil, sdk.InvalidArgument(param, "element %d is a %T, want a string", i, v)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeObject decodes a JSON object for an object result field.
func decodeObject(raw json.RawMessage) map[string]any {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}
