package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TokenCollection is the answer of GET /mgmt/shared/authz/tokens.
type TokenCollection struct {
	Items            []TokenItem `json:"items"`
	Generation       int64       `json:"generation"`
	Kind             string      `json:"kind"`
	LastUpdateMicros int64       `json:"lastUpdateMicros"`
	SelfLink         string      `json:"selfLink"`
}

// The handlers below run with s.mu held (see authed).

func (s *Sim) listTokens(u User) reply {
	now := s.clock.Now()
	s.sweepLocked(now)
	items := []TokenItem{}
	var last int64
	for _, t := range s.order {
		if t.user != u.Name {
			continue
		}
		items = append(items, t.item())
		last = max(last, t.lastUpdate.UnixMicro())
	}
	return reply{status: http.StatusOK, body: TokenCollection{
		Items: items, Generation: int64(len(items)), Kind: tokenCollKind,
		LastUpdateMicros: last, SelfLink: "https://" + advertisedHost + tokensPath,
	}}
}

// own finds the caller's token name, or answers the failure.
func (s *Sim) own(u User, name string, r *http.Request) (*token, *reply) {
	now := s.clock.Now()
	s.sweepLocked(now)
	t := s.tokens[name]
	if t == nil {
		rep := s.fail(r, http.StatusNotFound, "Object not found - https://"+advertisedHost+tokensPath+"/"+name)
		return nil, &rep
	}
	if t.user != u.Name {
		rep := s.fail(r, http.StatusBadRequest, "Bad Request: user "+u.Name+" may only access its own tokens.")
		return nil, &rep
	}
	return t, nil
}

func (s *Sim) getToken(u User, name string, r *http.Request) reply {
	t, rep := s.own(u, name, r)
	if rep != nil {
		return *rep
	}
	return reply{status: http.StatusOK, body: t.item()}
}

type tokenUpdate struct {
	Timeout json.RawMessage `json:"timeout"`
}

// updateToken is PATCH (and PUT, which f5-common-python's update sends) of a token: only the
// timeout changes; it is measured from the token's start and capped at MaxTimeout.
func (s *Sim) updateToken(u User, name string, r *http.Request) reply {
	var body tokenUpdate
	if err := simkit.DecodeJSON(r, &body); err != nil && !errors.Is(err, simkit.ErrEmptyBody) {
		return s.fail(r, http.StatusBadRequest, err.Error())
	}
	t, rep := s.own(u, name, r)
	if rep != nil {
		return *rep
	}
	if len(body.Timeout) == 0 || string(body.Timeout) == "null" {
		return reply{status: http.StatusOK, body: t.item()}
	}
	timeout, ok := jsonNumber(body.Timeout)
	if !ok {
		return s.fail(r, http.StatusBadRequest, fmt.Sprintf("Bad Request: timeout %s is not a number of seconds", body.Timeout))
	}
	if timeout > MaxTimeout {
		return s.fail(r, http.StatusNotAcceptable, fmt.Sprintf("Auth-token absolute timeout (%d seconds) exceeded", MaxTimeout))
	}
	if timeout <= 0 {
		return s.fail(r, http.StatusBadRequest, fmt.Sprintf("Bad Request: timeout %d must be a positive number of seconds", timeout))
	}
	now := s.clock.Now()
	t.timeout = timeout
	t.lastUpdate = now
	t.generation++
	item := t.item()
	if !now.Before(t.expires()) {
		s.removeLocked(t) // shortened into the past: it is gone
	}
	return reply{status: http.StatusOK, body: item}
}

func (s *Sim) deleteToken(u User, name string, r *http.Request) reply {
	t, rep := s.own(u, name, r)
	if rep != nil {
		return *rep
	}
	item := t.item()
	s.removeLocked(t)
	return reply{status: http.StatusOK, body: item}
}

// deleteAllTokens is DELETE of the collection: every token of the caller goes.
func (s *Sim) deleteAllTokens(u User) reply {
	items := []TokenItem{}
	for _, t := range append([]*token(nil), s.order...) {
		if t.user == u.Name {
			items = append(items, t.item())
			s.removeLocked(t)
		}
	}
	return reply{status: http.StatusOK, body: TokenCollection{
		Items: items, Kind: tokenCollKind, SelfLink: "https://" + advertisedHost + tokensPath,
	}}
}
