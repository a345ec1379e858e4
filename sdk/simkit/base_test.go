package simkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type baseSim struct{ Base }

func newBaseSim(clock *Clock, key string) *baseSim {
	s := &baseSim{Base: NewBase("acme", clock, RequireBearer(key))}
	s.Handle("GET /api/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "t1" {
			Error(w, http.StatusNotFound, "no such token")
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"id": "t1"})
	})
	return s
}

func TestBaseServesRoutesBehindAuthFaultsAndRecorder(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var s Simulator = newBaseSim(clock, "key-1")
	if s.Vendor() != "acme" || s.Clock() != clock || s.Faults() == nil || s.Recorder() == nil {
		t.Fatalf("accessors: vendor %q clock %p faults %p recorder %p", s.Vendor(), s.Clock(), s.Faults(), s.Recorder())
	}
	send := func(target, key string) (int, map[string]string) {
		req := httptest.NewRequest("GET", target, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		var body map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	for _, tc := range []struct {
		target, key string
		status      int
		field, want string
	}{
		{"/api/tokens/t1", "key-1", 200, "id", "t1"},
		{"/api/tokens/t2", "key-1", 404, "message", "no such token"},
		{"/api/tokens/t1", "", 401, "message", "invalid API key"},
		{"/api/tokens/t1", "key-2", 401, "message", "invalid API key"},
	} {
		if status, body := send(tc.target, tc.key); status != tc.status || body[tc.field] != tc.want {
			t.Errorf("GET %s with key %q = %d %v, want %d %s=%q", tc.target, tc.key, status, body, tc.status, tc.field, tc.want)
		}
	}
	s.Faults().Add(Fault{Status: http.StatusServiceUnavailable, Times: 1})
	if status, _ := send("/api/tokens/t1", "key-1"); status != http.StatusServiceUnavailable {
		t.Errorf("with a 503 fault: %d", status)
	}
	// The recorder is outermost: it saw the refused and the faulted requests too.
	if n := s.Recorder().Count("GET", "/api/tokens/"); n != 5 {
		t.Errorf("recorded %d requests, want 5", n)
	}
}

func TestAPIKeyRegistration(t *testing.T) {
	r := APIKeyRegistration("acme", "key-1", "ACME_API_KEY", newBaseSim)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Password != "key-1" || r.PasswordEnv != "ACME_API_KEY" || r.ExampleFlow != "acme/onboard.star" {
		t.Errorf("registration %+v", r)
	}
	auth := func(s Simulator, key string) int {
		req := httptest.NewRequest("GET", "/api/tokens/t1", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w.Code
	}
	if got := auth(r.New(NewRealClock()), "key-1"); got != 200 {
		t.Errorf("New does not accept the registration's key: %d", got)
	}
	if got := auth(r.NewWithPassword(NewRealClock(), "other"), "key-1"); got != 401 {
		t.Errorf("NewWithPassword still accepts the default key: %d", got)
	}
}
