package sdk

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestRawHeadersMaskCredentials(t *testing.T) {
	h := http.Header{
		"Set-Cookie":           {"JSESSIONID=abc123456789"},
		"X-F5-Auth-Token":      {"TOKEN123456"},
		"X-Next-Cursor":        {"20"},
		"Content-Type":         {"application/json"},
		"Www-Authenticate":     {`Basic realm="x"`},
		"X-Total-Record-Count": {"2", "3"},
	}
	got := RawHeaders(h)
	want := map[string]any{
		"Set-Cookie": "***", "X-F5-Auth-Token": "***", "X-Next-Cursor": "20", "Content-Type": "application/json",
		"Www-Authenticate": `Basic realm="x"`, "X-Total-Record-Count": "2, 3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestRawBody(t *testing.T) {
	if b := rawBody([]byte(`{"a":[1,2]}`)).(map[string]any); b["a"].([]any)[1] != json.Number("2") {
		t.Errorf("JSON body: %v", b)
	}
	if b := rawBody([]byte("plain text\n")); b != "plain text\n" {
		t.Errorf("text body: %q", b)
	}
	if b := rawBody([]byte(`{"a":1} trailing`)); b != `{"a":1} trailing` {
		t.Errorf("JSON then junk is text: %v", b)
	}
	if b := rawBody(nil); b != nil {
		t.Errorf("empty body: %v", b)
	}
}

func TestRawRequestChecksPath(t *testing.T) {
	for _, p := range []string{"api/x", "//evil.example/x", "/a/../b", "/x?y=1", "/x#f", "/a b"} {
		c := &Call{Args: Values{"path": p}}
		if _, err := rawRequestFrom(c, "GET"); !IsCode(err, CodeInvalidArgument) {
			t.Errorf("path %q: %v", p, err)
		}
	}
	c := &Call{Args: Values{"path": "/api/x", "query": map[string]any{"a": "1", "n": json.Number("2"), "l": []any{"x", true}}}}
	r, err := rawRequestFrom(c, "GET")
	if err != nil || r.PathQuery() != "/api/x?a=1&l=x&l=true&n=2" {
		t.Errorf("query: %q, %v", r.PathQuery(), err)
	}
}
