package simkit

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault describes a misbehaviour to inject into the requests it matches.
type Fault struct {
	Method     string        // "" = any method; compared case-insensitively
	PathPrefix string        // "" = any path; otherwise the URL path must start with it
	Times      int           // how many requests it applies to; 0 (or less) = unlimited
	Latency    time.Duration // delay before handling (or before answering Status, or dropping)
	Status     int           // if non-zero, answer this status instead of calling the handler
	RetryAfter time.Duration // with Status (meant for 429/503): Retry-After header, whole seconds rounded up
	Body       string        // with Status: response body; JSON when it parses as JSON, else text. Default: the status text
	// Drop closes the connection without answering. Note that Go's http.Transport transparently
	// retries an idempotent request whose reused connection was closed before any response, so
	// a client may not see a dropped GET; a request on a fresh connection, or a POST, does.
	Drop bool
}

// Faults is an ordered set of faults, applied by [Faults.Middleware]. The zero value is ready
// to use and injects nothing. It is safe for concurrent use.
//
// For each request the first fault (in the order added) that matches it applies, and only that
// one; a fault with Times > 0 is removed once it has applied that many times.
type Faults struct {
	mu     sync.Mutex
	faults []*activeFault
}

type activeFault struct {
	Fault
	left int // remaining applications when Times > 0
}

// Add appends a fault.
func (f *Faults) Add(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &activeFault{Fault: fault, left: fault.Times})
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Len returns how many faults are still active.
func (f *Faults) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.faults)
}

// take returns the fault that applies to r, consuming one application of it.
func (f *Faults) take(r *http.Request) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, af := range f.faults {
		if af.Method != "" && !strings.EqualFold(af.Method, r.Method) {
			continue
		}
		if af.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, af.PathPrefix) {
			continue
		}
		if af.Times > 0 {
			af.left--
			if af.left <= 0 {
				f.faults = append(f.faults[:i:i], f.faults[i+1:]...)
			}
		}
		return af.Fault, true
	}
	return Fault{}, false
}

// Middleware applies the matching fault, if any, before next sees the request.
func (f *Faults) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault, ok := f.take(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if fault.Latency > 0 {
			t := time.NewTimer(fault.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case fault.Drop:
			dropConnection(w)
		case fault.Status != 0:
			writeFaultStatus(w, fault)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func writeFaultStatus(w http.ResponseWriter, fault Fault) {
	if fault.RetryAfter > 0 {
		secs := int64((fault.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	body := fault.Body
	ctype := "text/plain; charset=utf-8"
	switch {
	case body == "":
		body = http.StatusText(fault.Status) + "\n"
	case json.Valid([]byte(body)):
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(fault.Status)
	_, _ = w.Write([]byte(body))
}

// dropConnection closes the client connection without a response: by hijacking it over
// HTTP/1.x, or by aborting the handler (which resets the stream) when hijacking is unsupported.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
