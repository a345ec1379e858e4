package sdk

import (
	"cmp"
	"context"
	"encoding/json"
)

// BearerJSON is a JSON API whose base URL and key are connection fields, the key sent as
// "Authorization: Bearer <key>". Its zero value reads the fields "url" and "api_key", the
// ones `tokenflow plugin new` declares, so most plugins need one line:
//
//	var api sdk.BearerJSON
//	err := api.Do(ctx, c, http.MethodGet, "/api/tokens", nil, &out)
type BearerJSON struct {
	URLField string // the connection field holding the base URL; "url" when empty
	KeyField string // the connection field holding the key (declare it sdk.Secret); "api_key" when empty
}

// Do sends method base+path through c.HTTP (the engine's host transport), with body encoded
// as JSON (nil: no body), and decodes a 2xx answer into out (nil: the answer is discarded).
// Any other status is FromResponse's *Error, so callers branch on its Code (IsCode). The key
// never appears in an error.
func (a BearerJSON) Do(ctx context.Context, c *Call, method, path string, body, out any) error {
	urlField, keyField := a.URLField, a.KeyField
	if urlField == "" {
		urlField = "url"
	}
	if keyField == "" {
		keyField = "api_key"
	}
	key := c.Conn.String(keyField)
	if key == "" {
		return InvalidArgument(keyField, "the connection has no %s: set it to the vendor's API key", keyField)
	}
	req, err := NewJSONRequest(ctx, method, c.Conn.String(urlField), path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, data, err := c.Send(req)
	if err != nil {
		return err
	}
	what := method + " " + path
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return FromResponse(what, resp, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return Errorf(CodeInternal, "decode the answer to %s: %v (does the plugin's result type match the API?)", what, err)
	}
	return nil
}

// Fields declares the connection fields Do reads, both required: the base URL
// (String) and the key (Secret), documented with urlDoc and keyDoc.
func (a BearerJSON) Fields(urlDoc, keyDoc string) []Field {
	return []Field{
		{Name: cmp.Or(a.URLField, "url"), Type: String, Required: true, Doc: urlDoc},
		{Name: cmp.Or(a.KeyField, "api_key"), Type: Secret, Required: true, Doc: keyDoc},
	}
}
