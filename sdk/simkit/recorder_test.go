package simkit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rec := NewRecorder(clock)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, 200, []int{}) })
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(201) })
	mux.HandleFunc("POST /items/query", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("DELETE /items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	h := rec.Middleware(mux)

	send := func(method, target string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, target, nil))
	}
	send("GET", "/items?page=2")
	send("HEAD", "/items")
	send("POST", "/items")
	send("POST", "/items/query")
	send("DELETE", "/items/7")
	send("GET", "/nowhere")

	entries := rec.Entries()
	want := []Entry{
		{Method: "GET", Path: "/items", RawQuery: "page=2", Status: 200},
		{Method: "HEAD", Path: "/items", Status: 200},
		{Method: "POST", Path: "/items", Status: 201, Write: true},
		{Method: "POST", Path: "/items/query", Status: 200, Write: true},
		{Method: "DELETE", Path: "/items/7", Status: 204, Write: true},
		{Method: "GET", Path: "/nowhere", Status: 404},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i := range want {
		want[i].Time = clock.Now()
		if entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], want[i])
		}
	}

	counts := []struct {
		method, prefix string
		want           int
	}{
		{"", "", 6},
		{"GET", "", 2},
		{"post", "/items", 2},
		{"", "/items", 5},
		{"DELETE", "/items/", 1},
		{"PUT", "", 0},
	}
	for _, c := range counts {
		if got := rec.Count(c.method, c.prefix); got != c.want {
			t.Errorf("Count(%q, %q) = %d, want %d", c.method, c.prefix, got, c.want)
		}
	}
	if got := rec.Writes(); got != 3 {
		t.Errorf("Writes() = %d, want 3", got)
	}

	rec.Reset()
	if len(rec.Entries()) != 0 || rec.Writes() != 0 {
		t.Fatal("Reset kept entries")
	}

	// A vendor whose queries are POSTs says they are reads.
	rec.ClassifyWrites(func(r *http.Request) bool {
		return IsWriteMethod(r.Method) && !strings.HasSuffix(r.URL.Path, "/query")
	})
	send("POST", "/items/query")
	send("POST", "/items")
	if got := rec.Writes(); got != 1 {
		t.Errorf("Writes() with a classifier = %d, want 1", got)
	}
}

func TestRecorderZeroValueUsesWallTime(t *testing.T) {
	var rec Recorder
	before := time.Now()
	rec.Middleware(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/x", nil))
	e := rec.Entries()
	if len(e) != 1 || e[0].Status != 404 || !e[0].Write || e[0].Time.Before(before) {
		t.Fatalf("entries = %+v", e)
	}
}
