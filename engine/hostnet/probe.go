package hostnet

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Probe makes one unauthenticated GET of the connection's base URL with its
// TLS policy (CA file, pin, insecure) and reports the HTTP status: whether
// the target answers and its certificate is the one expected, not whether
// credentials work. `tokenflow targets check` uses it.
func Probe(ctx context.Context, c *Conn, timeout time.Duration) (int, time.Duration, error) {
	client, err := c.httpClient()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, time.Since(start), fmt.Errorf("no answer within %s", timeout)
		}
		return 0, time.Since(start), describeNetError(ctx, ctx, &Step{Call: "probe"}, http.MethodGet, c.BaseURL, err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}
