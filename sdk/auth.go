package sdk

import (
	"context"
	"net/http"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// Auth is how a plugin puts a connection's credential on a request.
type Auth struct {
	// Apply puts the credential on req, logging in first when the
	// connection's session holds none yet (Session.Once).
	Apply func(ctx context.Context, c *Call, req *http.Request) error
	// Expired is called when a request Apply authenticated was answered
	// 401. It forgets the credential, so the next Apply logs in again, and
	// reports whether that can help: false for a token the flow gave,
	// which the request is then refused with. Nil: a 401 is an error.
	Expired func(c *Call) bool
}

// Send sends req with the credential Apply puts on it; a 401 that Expired
// says a new login can cure is retried once, with a new request from
// build. build is called for every attempt, since a request's body can be
// read only once.
func (a *Auth) Send(ctx context.Context, c *Call, build func() (*http.Request, error)) (*http.Response, []byte, error) {
	_, resp, data, err := a.exchange(ctx, c, build, nil)
	return resp, data, err
}

// exchange is Send, for a nil Auth too (no credential, no retry), that
// also returns the request last made. answer, when set, is the answer to
// the first request, which is then not sent (a declared read the engine
// sent itself: read.go).
func (a *Auth) exchange(ctx context.Context, c *Call, build func() (*http.Request, error), answer *pb.HTTPResponse) (*http.Request, *http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := build()
		if err != nil {
			return nil, nil, nil, err
		}
		if a != nil {
			if err := a.Apply(ctx, c, req); err != nil {
				return nil, nil, nil, err
			}
		}
		var resp *http.Response
		var data []byte
		if answer != nil && attempt == 0 {
			resp, err = responseFromProto(answer, req)
			data = answer.Body
		} else {
			resp, data, err = c.Send(req)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && a != nil && a.Expired != nil && a.Expired(c) {
			continue
		}
		return req, resp, data, nil
	}
}
