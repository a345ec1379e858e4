// Package sim simulates Keybox, the toy token API of the reference Python
// plugin (plugins/keybox/python): an API key in "Authorization: Bearer",
// a list of tokens filtered by name, and token creation that answers the
// secret once.
//
//	GET  /api/v1/tokens?name=NAME  -> 200 {"tokens": [{"id", "name", "expires_at"}]}
//	POST /api/v1/tokens {"name", "ttl_hours"}
//	                               -> 201 {"id", "name", "secret", "expires_at"}
//	                                  409 when the name is taken, 400 on a bad body
//	anything without the API key   -> 401 {"message"}
//
// Like every simulator it imports nothing from its plugin.
package sim

import (
	"net/http"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// APIKey is the key the simulator accepts.
const APIKey = "kb-test-key-0123456789"

// Sim is the Keybox simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler

	mu     sync.Mutex
	tokens []token
}

type token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// New returns a simulator with no tokens.
func New(clock *simkit.Clock) *Sim {
	s := &Sim{clock: clock, faults: &simkit.Faults{}, recorder: simkit.NewRecorder(clock)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/tokens", s.auth(s.list))
	mux.HandleFunc("POST /api/v1/tokens", s.auth(s.create))
	s.handler = simkit.Wrap(mux, s.faults, s.recorder)
	return s
}

func (s *Sim) Vendor() string             { return "keybox" }
func (s *Sim) Handler() http.Handler      { return s.handler }
func (s *Sim) Clock() *simkit.Clock       { return s.clock }
func (s *Sim) Faults() *simkit.Faults     { return s.faults }
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

// Names returns the names of the tokens the simulator holds.
func (s *Sim) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.tokens {
		out = append(out, t.Name)
	}
	return out
}

func (s *Sim) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if key, ok := simkit.BearerToken(r, "Bearer"); !ok || key != APIKey {
			simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid API key"})
			return
		}
		next(w, r)
	}
}

func (s *Sim) list(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []token{}
	for _, t := range s.tokens {
		if name == "" || t.Name == name {
			out = append(out, t)
		}
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Sim) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name     string `json:"name"`
		TTLHours int    `json:"ttl_hours"`
	}
	if err := simkit.DecodeJSON(r, &body); err != nil {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	if body.Name == "" || body.TTLHours <= 0 || body.TTLHours > 8760 {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "name is required and ttl_hours must be 1..8760"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.Name == body.Name {
			simkit.WriteJSON(w, http.StatusConflict, map[string]string{"message": "a token named " + body.Name + " exists"})
			return
		}
	}
	t := token{ID: simkit.RandomUUID(), Name: body.Name, ExpiresAt: s.clock.Now().Add(time.Duration(body.TTLHours) * time.Hour).UTC().Truncate(time.Second)}
	s.tokens = append(s.tokens, t)
	simkit.WriteJSON(w, http.StatusCreated, map[string]any{
		"id": t.ID, "name": t.Name, "secret": "kbt_" + simkit.RandomHex(20), "expires_at": t.ExpiresAt,
	})
}
