package simkit_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// greeter is a toy vendor simulator: a login that issues a session token valid for one hour of
// simulated time, and one authenticated endpoint.
type greeter struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	sessions map[string]time.Time // token -> expiry; a real simulator guards state with a mutex
}

func newGreeter(clock *simkit.Clock) *greeter {
	g := &greeter{
		clock:    clock,
		faults:   &simkit.Faults{},
		recorder: simkit.NewRecorder(clock),
		sessions: map[string]time.Time{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", g.login)
	mux.HandleFunc("GET /api/hello", g.hello)
	g.handler = simkit.Wrap(mux, g.faults, g.recorder)
	return g
}

func (g *greeter) Vendor() string             { return "greeter" }
func (g *greeter) Handler() http.Handler      { return g.handler }
func (g *greeter) Clock() *simkit.Clock       { return g.clock }
func (g *greeter) Faults() *simkit.Faults     { return g.faults }
func (g *greeter) Recorder() *simkit.Recorder { return g.recorder }

func (g *greeter) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ User, Password string }
	if err := simkit.DecodeJSON(r, &body); err != nil {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	if body.User != "admin" || body.Password != "secret" {
		simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "bad credentials"})
		return
	}
	tok := simkit.RandomHex(16)
	g.sessions[tok] = g.clock.Now().Add(time.Hour)
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (g *greeter) hello(w http.ResponseWriter, r *http.Request) {
	tok, ok := simkit.BearerToken(r, "Bearer")
	if exp, known := g.sessions[tok]; !ok || !known || !g.clock.Now().Before(exp) {
		simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid or expired token"})
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"greeting": "hello"})
}

// Example shows a simulator built with simkit, served over TLS with a generated CA, with its
// clock advanced past a session's expiry and a 429 injected.
func Example() {
	var sim simkit.Simulator = newGreeter(simkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))

	ca, err := simkit.NewCA()
	if err != nil {
		panic(err)
	}
	srv, err := simkit.Serve(sim.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := srv.Client() // trusts ca, and nothing else

	resp, err := client.Post(srv.URL+"/api/login", "application/json",
		strings.NewReader(`{"user":"admin","password":"secret"}`))
	if err != nil {
		panic(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()

	hello := func() {
		req, _ := http.NewRequest("GET", srv.URL+"/api/hello", nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}

	hello()
	sim.Faults().Add(simkit.Fault{PathPrefix: "/api/hello", Status: 429, RetryAfter: 2 * time.Second, Times: 1})
	hello()
	sim.Clock().Advance(61 * time.Minute) // past the session's expiry, without sleeping
	hello()

	fmt.Println("requests:", len(sim.Recorder().Entries()), "writes:", sim.Recorder().Writes())
	// Output:
	// 200 "" {"greeting":"hello"}
	// 429 "2" Too Many Requests
	// 401 "" {"message":"invalid or expired token"}
	// requests: 4 writes: 1
}
