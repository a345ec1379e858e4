// Package sim simulates Grafana's service account API on loopback, for tests, `tokenflow sim`
// and --simulate: service accounts and their tokens, every request with the bearer key.
package sim

import (
	"cmp"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// APIKey is the key the simulator accepts by default.
const APIKey = "glsa_grafana-test-key-0123456789"

// Sim is the Grafana simulator.
type Sim struct {
	simkit.Base
	Accounts *simkit.Table[Account]
	Tokens   *simkit.Table[Token]
}

// Account is a service account (POST and GET /api/serviceaccounts[/{id}]).
type Account struct {
	ID    int64  `json:"id"`
	Name  string `json:"name" simkit:"required,unique"`
	Login string `json:"login"`
	Role  string `json:"role"`
}

// Token is a service account's token (/api/serviceaccounts/{account}/tokens[/{id}]).
type Token struct {
	ID            int64     `json:"id"`
	Account       int64     `json:"-" simkit:"path=account"`
	Name          string    `json:"name" simkit:"required"`
	SecondsToLive int64     `json:"secondsToLive" simkit:"required"`
	Key           string    `json:"key,omitempty" simkit:"once"`
	Expiration    time.Time `json:"expiration"`
}

// New returns a simulator with no service account that accepts key.
func New(clock *simkit.Clock, key string) *Sim {
	s := &Sim{simkit.NewBase("grafana", clock, simkit.RequireBearer(key)), simkit.NewTable[Account]("service account"), simkit.NewTable[Token]("token")}
	s.Accounts.Mount(&s.Base, "/api/serviceaccounts", func(_ *http.Request, a *Account) error {
		a.Login, a.Role = "sa-"+a.Name, cmp.Or(a.Role, "Viewer")
		return nil
	})
	s.Tokens.Mount(&s.Base, "/api/serviceaccounts/{account}/tokens", func(r *http.Request, t *Token) error {
		t.Key, t.Expiration = "glsa_"+simkit.RandomHex(16), s.Clock().Now().Add(time.Duration(t.SecondsToLive)*time.Second).UTC()
		_, err := s.Accounts.Get(r.PathValue("account")) // a token needs its account
		return err
	})
	return s
}

// Registration describes the simulator to tokenflow (see main.go).
func Registration() simkit.Registration {
	r := simkit.APIKeyRegistration("grafana", APIKey, "GRAFANA_API_KEY", New)
	r.FlowVars = map[string]string{"name": "ci-bot"}
	return r
}
