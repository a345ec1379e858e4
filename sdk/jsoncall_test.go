package sdk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBearerJSONDo(t *testing.T) {
	const key = "k-0123456789-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"invalid API key"}`))
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "POST /api/tokens":
			var in struct{ Name string }
			if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"t1","name":"` + in.Name + `"}`))
		case "DELETE /api/tokens/t1":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"no such token"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Call{HTTP: srv.Client(), Conn: Values{"url": srv.URL + "/", "api_key": key}}
	var api BearerJSON

	var out struct{ ID, Name string }
	if err := api.Do(ctx, c, http.MethodPost, "/api/tokens", map[string]any{"name": "ci"}, &out); err != nil || out.ID != "t1" || out.Name != "ci" {
		t.Fatalf("POST = %+v, %v", out, err)
	}
	if err := api.Do(ctx, c, http.MethodDelete, "/api/tokens/t1", nil, &out); err != nil {
		t.Fatalf("DELETE answered 204: %v", err)
	}
	err := api.Do(ctx, c, http.MethodDelete, "/api/tokens/t2", nil, nil)
	if !IsCode(err, CodeNotFound) || !strings.Contains(err.Error(), "DELETE /api/tokens/t2: HTTP 404: no such token") {
		t.Fatalf("a 404: %v", err)
	}

	// Other field names, a wrong key: unauthenticated, and the key sent is not in the error.
	other := BearerJSON{URLField: "endpoint", KeyField: "token"}
	c.Conn = Values{"endpoint": srv.URL, "token": "wrong-key-0123456789"}
	if err := other.Do(ctx, c, http.MethodGet, "/api/tokens", nil, nil); !IsCode(err, CodeUnauthenticated) || strings.Contains(err.Error(), "wrong-key") {
		t.Fatalf("a wrong key: %v", err)
	}
	c.Conn = Values{"endpoint": srv.URL}
	if err := other.Do(ctx, c, http.MethodGet, "/api/tokens", nil, nil); !IsCode(err, CodeInvalidArgument) || !strings.Contains(err.Error(), "token") {
		t.Fatalf("no key: %v", err)
	}
}

func TestBearerJSONDoRefusesAnUndecodableAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`[1,2]`)) }))
	defer srv.Close()
	c := &Call{HTTP: srv.Client(), Conn: Values{"url": srv.URL, "api_key": "k"}}
	var out struct{ ID string }
	err := BearerJSON{}.Do(context.Background(), c, http.MethodGet, "/x", nil, &out)
	if !IsCode(err, CodeInternal) || !strings.Contains(err.Error(), "decode the answer to GET /x") {
		t.Fatalf("got %v", err)
	}
}
