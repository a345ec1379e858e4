package hostnet

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryPolicy bounds how the transport retries. The policy is method-aware:
// a request the server refused without processing (429, 503) is retried
// whatever its method; a failure whose outcome is unknown (connection reset,
// 502, 504) is retried only for idempotent methods and for read ops, because
// blindly repeating a write could create a second API client. Such a write
// fails, and the flow (or resume) reconciles with a read.
type RetryPolicy struct {
	Max     int           // attempts after the first; default 3
	WaitMin time.Duration // first backoff; default 200ms
	WaitMax time.Duration // backoff cap, also the longest Retry-After honoured; default 30s
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Max == 0 {
		p.Max = 3
	}
	if p.Max < 0 {
		p.Max = 0
	}
	if p.WaitMin == 0 {
		p.WaitMin = 200 * time.Millisecond
	}
	if p.WaitMax == 0 {
		p.WaitMax = 30 * time.Second
	}
	return p
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryAfter parses a Retry-After header in seconds (the form vendors use).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	s := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// retrying wraps the step's connection client in the retry policy.
func (t *Transport) retrying(step *Step, method string) (http.RoundTripper, error) {
	hc, err := step.Conn.httpClient()
	if err != nil {
		return nil, err
	}
	p := t.opts.Retry
	c := &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // the transport audits exchanges itself, redacted
		RetryWaitMin: p.WaitMin,
		RetryWaitMax: p.WaitMax,
		RetryMax:     p.Max,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if err != nil {
				// Certificate problems do not heal by retrying.
				if strings.Contains(err.Error(), "x509:") || strings.Contains(err.Error(), "tls:") {
					return false, nil
				}
				return !step.Write || idempotent(method), nil
			}
			switch resp.StatusCode {
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				if d, ok := retryAfter(resp); ok && d > p.WaitMax {
					// Waiting that long is the flow's decision; hand
					// the 429 to the plugin, which reports rate_limited
					// with the vendor's Retry-After.
					return false, nil
				}
				return true, nil
			case http.StatusBadGateway, http.StatusGatewayTimeout:
				return !step.Write || idempotent(method), nil
			}
			return false, nil
		},
		Backoff: func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
			if d, ok := retryAfter(resp); ok {
				return min2(d, max)
			}
			// Capped exponential backoff with full jitter.
			d := min << uint(attempt)
			if d > max || d <= 0 {
				d = max
			}
			return time.Duration(rand.Int64N(int64(d)) + 1)
		},
		// After the last attempt hand back the vendor's own answer (a 429
		// with its Retry-After) rather than a generic "giving up" error.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return &retryablehttp.RoundTripper{Client: c}, nil
}

func min2(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
