package simkit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusCreated, map[string]any{"clientId": "x", "n": 3})
	if w.Code != http.StatusCreated {
		t.Fatalf("status = %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["clientId"] != "x" || got["n"] != 3.0 {
		t.Fatalf("body = %s (%v)", w.Body, err)
	}

	w = httptest.NewRecorder()
	WriteJSON(w, http.StatusNoContent, map[string]string{"ignored": "yes"})
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("204: status %d body %q", w.Code, w.Body)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		TTL  *int   `json:"ttl"`
	}
	tests := []struct {
		name, ctype, body string
		wantErr           string // "" = success
		wantEmpty         bool
	}{
		{name: "ok", ctype: "application/json", body: `{"name":"a","ttl":5}`},
		{name: "ok charset", ctype: "application/json; charset=utf-8", body: `{"name":"a"}`},
		{name: "ok vendor type", ctype: "application/vnd.example+json", body: `{"name":"a"}`},
		{name: "ok no content type", body: `{"name":"a"}`},
		{name: "unknown fields ignored", body: `{"name":"a","other":1}`},
		{name: "empty", ctype: "application/json", body: ``, wantErr: "empty", wantEmpty: true},
		{name: "blank", body: "  \n", wantErr: "empty", wantEmpty: true},
		{name: "form", ctype: "application/x-www-form-urlencoded", body: `name=a`, wantErr: "not JSON"},
		{name: "syntax", body: `{"name":}`, wantErr: "invalid JSON body at byte"},
		{name: "truncated", body: `{"name":"a"`, wantErr: "unexpected end"},
		{name: "type", body: `{"name":"a","ttl":"ten"}`, wantErr: `field "ttl" must be a number, not string`},
		{name: "trailing", body: `{"name":"a"} {}`, wantErr: "after the JSON value"},
		{name: "too large", body: `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest("POST", "/", rd)
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			var b body
			err := DecodeJSON(r, &b)
			if tt.wantErr == "" {
				if err != nil || b.Name != "a" {
					t.Fatalf("DecodeJSON = %v, decoded %+v", err, b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeJSON error = %v, want it to contain %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrEmptyBody) != tt.wantEmpty {
				t.Fatalf("errors.Is(err, ErrEmptyBody) = %v, want %v", !tt.wantEmpty, tt.wantEmpty)
			}
		})
	}
}
