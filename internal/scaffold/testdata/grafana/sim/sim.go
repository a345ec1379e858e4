// Package sim simulates the grafana token API on loopback, for tests, `tokenflow sim` and the
// plugin's --simulate mode:
//
//	GET    /api/tokens?name=NAME -> 200 {"tokens": [{"id", "name", "expires_at"}]}
//	POST   /api/tokens {"name", "ttl_hours"} -> 201 {"id", "name", "token", "expires_at"}
//	DELETE /api/tokens/{id}      -> 204, 404 when there is no such token
//	anything without the API key -> 401 {"message"}
package sim

import (
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// APIKey is the key the simulator accepts by default.
const APIKey = "grafana-test-key-0123456789"

// Sim is the grafana simulator.
type Sim struct {
	simkit.Base                      // clock, faults, recorder, routes
	Tokens      *simkit.Table[Token] // the tokens, in creation order
}

// Token is a token as the API lists it (its secret is answered once, on create).
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// New returns a simulator with no token that accepts key.
func New(clock *simkit.Clock, key string) *Sim {
	s := &Sim{Base: simkit.NewBase("grafana", clock, simkit.RequireBearer(key)), Tokens: simkit.NewTable[Token]("token")}
	s.HandleJSON("GET /api/tokens", func(r *http.Request) (any, error) {
		name := r.URL.Query().Get("name")
		return map[string]any{"tokens": s.Tokens.List(func(t Token) bool { return name == "" || t.Name == name })}, nil
	})
	s.HandleJSON("POST /api/tokens", s.create)
	s.HandleJSON("DELETE /api/tokens/{id}", func(r *http.Request) (any, error) {
		_, err := s.Tokens.Delete(r.PathValue("id"))
		return nil, err // 204, or the table's 404
	})
	return s
}

// Registration describes the simulator to tokenflow (see main.go).
func Registration() simkit.Registration {
	r := simkit.APIKeyRegistration("grafana", APIKey, "GRAFANA_API_KEY", New)
	r.FlowVars = map[string]string{"name": "ci-bot"}
	return r
}

func (s *Sim) create(r *http.Request) (any, error) {
	body, err := simkit.Body[struct {
		Name     string `json:"name"`
		TTLHours int    `json:"ttl_hours"`
	}](r)
	if err == nil && (body.Name == "" || body.TTLHours <= 0) {
		err = simkit.Errorf(http.StatusBadRequest, "name is required and ttl_hours must be positive")
	}
	if err != nil {
		return nil, err
	}
	expires := s.Clock().Now().Add(time.Duration(body.TTLHours) * time.Hour).UTC().Truncate(time.Second)
	t := s.Tokens.Insert(Token{Name: body.Name, ExpiresAt: expires})
	return simkit.Respond(http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "token": "tok_" + simkit.RandomHex(20), "expires_at": t.ExpiresAt}), nil
}
