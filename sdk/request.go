package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// NewJSONRequest builds a request to base+path with body encoded as JSON
// (no body when nil) and the Accept and Content-Type headers JSON APIs
// expect. base's trailing slashes are trimmed.
func NewJSONRequest(ctx context.Context, method, base, path string, body any) (*http.Request, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, Errorf(CodeInternal, "encode request body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, rd)
	if err != nil {
		return nil, InvalidArgument("url", "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Send sends req with c.HTTP and reads the whole response body (bounded),
// closing it. A transport failure is returned as is (the engine's message
// already says what went wrong and where).
func (c *Call) Send(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, Errorf(CodeUnavailable, "read response: %v", err)
	}
	return resp, body, nil
}
