package simkit

import (
	"crypto/subtle"
	"net/http"
)

// Base is the plumbing every simulator repeats: its clock, faults, recorder and routes, and
// the five Simulator methods over them. Embed it, and a simulator declares only its API:
//
//	type Sim struct {
//		simkit.Base
//		mu     sync.Mutex
//		tokens []token
//	}
//
//	func New(clock *simkit.Clock, key string) *Sim {
//		s := &Sim{Base: simkit.NewBase("acme", clock, simkit.RequireBearer(key))}
//		s.Handle("GET /api/tokens", s.list)
//		return s
//	}
type Base struct {
	vendor   string
	clock    *Clock
	faults   *Faults
	recorder *Recorder
	mux      *http.ServeMux
	handler  http.Handler
}

// NewBase returns the plumbing of vendor's simulator on clock, with no fault and no route.
// Every route is served behind mw (the first outermost), and all of it behind Wrap's fault
// and recorder middleware, so a request a middleware refuses is still recorded.
func NewBase(vendor string, clock *Clock, mw ...func(http.Handler) http.Handler) Base {
	b := Base{vendor: vendor, clock: clock, faults: &Faults{}, recorder: NewRecorder(clock), mux: http.NewServeMux()}
	var h http.Handler = b.mux
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	b.handler = Wrap(h, b.faults, b.recorder)
	return b
}

// Handle routes pattern (a net/http ServeMux pattern: "DELETE /api/tokens/{id}") to h.
func (b *Base) Handle(pattern string, h http.HandlerFunc) { b.mux.HandleFunc(pattern, h) }

// Vendor, Handler, Clock, Faults and Recorder implement Simulator.
func (b *Base) Vendor() string        { return b.vendor }
func (b *Base) Handler() http.Handler { return b.handler }
func (b *Base) Clock() *Clock         { return b.clock }
func (b *Base) Faults() *Faults       { return b.faults }
func (b *Base) Recorder() *Recorder   { return b.recorder }

// Error answers status with {"message": msg}, the error body most vendor APIs send and the
// one sdk.FromResponse reads.
func Error(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"message": msg})
}

// RequireBearer is middleware that answers 401 {"message": "invalid API key"} to a request
// without "Authorization: Bearer <key>".
func RequireBearer(key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := BearerToken(r, "Bearer")
			// Constant time, as a vendor compares: the simulator may serve on a shared host.
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
				Error(w, http.StatusUnauthorized, "invalid API key")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// APIKeyRegistration is the Registration of a simulator whose one credential is an API key:
// New serves key, NewWithPassword another key (a fleet's wrong-password fault), and the flows
// read it from env. ExampleFlow is vendor's onboard.star. Set FlowVars and the rest on the
// result.
func APIKeyRegistration[S Simulator](vendor, key, env string, newSim func(clock *Clock, key string) S) Registration {
	return Registration{
		Vendor:          vendor,
		New:             func(c *Clock) Simulator { return newSim(c, key) },
		NewWithPassword: func(c *Clock, k string) Simulator { return newSim(c, k) },
		Username:        "(api key)",
		Password:        key,
		PasswordEnv:     env,
		ExampleFlow:     vendor + "/onboard.star",
	}
}
