package simkit

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// okHandler answers 200 "ok" and counts the requests it saw.
type okHandler struct{ calls int }

func (h *okHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.calls++
	_, _ = io.WriteString(w, "ok")
}

func serveFaults(t *testing.T, f *Faults) (*Server, *okHandler) {
	t.Helper()
	h := &okHandler{}
	srv, err := Serve(f.Middleware(h), ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, h
}

func do(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFaultStatusAndRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantRetry  string
		wantBody   string
		wantCType  string
	}{
		{"429 with Retry-After", Fault{Status: 429, RetryAfter: 7 * time.Second}, 429, "7", "Too Many Requests\n", "text/plain; charset=utf-8"},
		{"503 rounds Retry-After up", Fault{Status: 503, RetryAfter: 1500 * time.Millisecond}, 503, "2", "Service Unavailable\n", "text/plain; charset=utf-8"},
		{"500 without Retry-After", Fault{Status: 500}, 500, "", "Internal Server Error\n", "text/plain; charset=utf-8"},
		{"JSON body", Fault{Status: 429, Body: `{"message":"slow down"}`}, 429, "", `{"message":"slow down"}`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Faults
			f.Add(tt.fault)
			srv, h := serveFaults(t, &f)
			resp, body := do(t, srv.Client(), "GET", srv.URL+"/x")
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Fatalf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantCType {
				t.Fatalf("Content-Type = %q, want %q", got, tt.wantCType)
			}
			if h.calls != 0 {
				t.Fatalf("handler called %d times behind a status fault", h.calls)
			}
		})
	}
}

func TestFaultTimesAndMatching(t *testing.T) {
	var f Faults
	f.Add(Fault{Method: "post", PathPrefix: "/api/tokens", Status: 429, Times: 2})
	srv, h := serveFaults(t, &f)
	c := srv.Client()

	steps := []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/tokens", 200},    // wrong method
		{"POST", "/api/other", 200},    // wrong path
		{"POST", "/api/tokens/1", 429}, // 1st
		{"POST", "/api/tokens", 429},   // 2nd
		{"POST", "/api/tokens", 200},   // used up
	}
	for i, s := range steps {
		resp, _ := do(t, c, s.method, srv.URL+s.path)
		if resp.StatusCode != s.want {
			t.Fatalf("step %d %s %s: status %d, want %d", i, s.method, s.path, resp.StatusCode, s.want)
		}
	}
	if h.calls != 3 {
		t.Fatalf("handler calls = %d, want 3", h.calls)
	}
	if f.Len() != 0 {
		t.Fatalf("Len() = %d after the fault was used up", f.Len())
	}

	f.Add(Fault{Status: 503}) // unlimited
	for range 3 {
		if resp, _ := do(t, c, "GET", srv.URL+"/"); resp.StatusCode != 503 {
			t.Fatalf("unlimited fault: status %d", resp.StatusCode)
		}
	}
	f.Clear()
	if resp, _ := do(t, c, "GET", srv.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("after Clear: status %d", resp.StatusCode)
	}
}

func TestFaultFirstMatchWins(t *testing.T) {
	var f Faults
	f.Add(Fault{PathPrefix: "/a", Status: 418, Times: 1})
	f.Add(Fault{Status: 500, Times: 1})
	srv, _ := serveFaults(t, &f)
	c := srv.Client()
	for _, want := range []int{418, 500, 200} {
		if resp, _ := do(t, c, "GET", srv.URL+"/a"); resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
	}
}

func TestFaultLatency(t *testing.T) {
	var f Faults
	f.Add(Fault{Latency: 150 * time.Millisecond, Times: 1})
	srv, h := serveFaults(t, &f)
	c := srv.Client()

	start := time.Now()
	resp, body := do(t, c, "GET", srv.URL+"/")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("delayed request took %v, want >= 150ms", d)
	}
	if resp.StatusCode != 200 || body != "ok" || h.calls != 1 {
		t.Fatalf("latency-only fault must still call the handler: %d %q calls=%d", resp.StatusCode, body, h.calls)
	}

	start = time.Now()
	do(t, c, "GET", srv.URL+"/")
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("second request took %v; the Times=1 latency applied twice", d)
	}
}

func TestFaultDrop(t *testing.T) {
	var f Faults
	f.Add(Fault{Drop: true, Times: 1})
	h := &okHandler{}
	var rec Recorder
	srv, err := Serve(Wrap(h, &f, &rec), ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	resp, err := srv.Client().Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %d, want a client error", resp.StatusCode)
	}
	if h.calls != 0 {
		t.Fatal("handler called for a dropped request")
	}
	if resp, _ := do(t, srv.Client(), "GET", srv.URL+"/x"); resp.StatusCode != 200 {
		t.Fatalf("after the drop: status %d", resp.StatusCode)
	}
	// The dropped request is recorded once its handler returns, which can
	// be a moment after the client saw the connection close.
	got := map[string]int{}
	for i := 0; i < 200 && len(got) < 2; i++ {
		if i > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		got = map[string]int{}
		for _, e := range rec.Entries() {
			got[e.Method] = e.Status
		}
	}
	if len(got) != 2 || got["POST"] != 0 || got["GET"] != 200 {
		t.Fatalf("recorded %+v, want a dropped POST (status 0) and a GET 200", rec.Entries())
	}
}
