package simkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type restAccount struct {
	ID   int    `json:"id"`
	Name string `json:"name" simkit:"required,unique"`
}

type restKey struct {
	ID      int    `json:"id"`
	Account int    `json:"-" simkit:"path=account"`
	Label   string `json:"label" simkit:"unique"`
	Secret  string `json:"secret,omitempty" simkit:"once"`
}

func TestMountServesACollection(t *testing.T) {
	b := NewBase("acme", NewRealClock())
	accounts, keys := NewTable[restAccount]("account"), NewTable[restKey]("key")
	accounts.Mount(&b, "/accounts", nil)
	keys.Mount(&b, "/accounts/{account}/keys", func(r *http.Request, k *restKey) error {
		if _, err := accounts.Get(r.PathValue("account")); err != nil {
			return err
		}
		k.Secret = "s3cret"
		return nil
	})
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/accounts", `{"name":"ci"}`, 201, `{"id":1,"name":"ci"}`},
		{"POST", "/accounts", `{"name":"ci"}`, 409, `{"message":"account 1 already exists with the same unique value"}`},
		{"POST", "/accounts", `{}`, 400, `{"message":"name is required"}`},
		{"POST", "/accounts", `{"name":"ops"}`, 201, `{"id":2,"name":"ops"}`},
		{"GET", "/accounts", ``, 200, `[{"id":1,"name":"ci"},{"id":2,"name":"ops"}]`},
		{"GET", "/accounts/2", ``, 200, `{"id":2,"name":"ops"}`},
		{"GET", "/accounts?name=ops", ``, 200, `[{"id":2,"name":"ops"}]`},
		{"GET", "/accounts?name=nobody&other=1", ``, 200, `[]`},
		{"POST", "/accounts/1/keys", `{"label":"a"}`, 201, `{"id":1,"label":"a","secret":"s3cret"}`},
		{"POST", "/accounts/2/keys", `{"label":"a"}`, 201, `{"id":2,"label":"a","secret":"s3cret"}`}, // unique per account
		{"POST", "/accounts/1/keys", `{"label":"a"}`, 409, `{"message":"key 1 already exists with the same unique value"}`},
		{"POST", "/accounts/9/keys", `{"label":"b"}`, 404, `{"message":"no such account 9"}`},
		{"POST", "/accounts/x/keys", `{"label":"b"}`, 400, `{"message":"{account} \"x\": want an integer"}`},
		{"GET", "/accounts/1/keys", ``, 200, `[{"id":1,"label":"a"}]`}, // the secret answered once
		{"GET", "/accounts/2/keys/1", ``, 404, `{"message":"no such key 1"}`},
		{"DELETE", "/accounts/2/keys/1", ``, 404, `{"message":"no such key 1"}`},
		{"DELETE", "/accounts/1/keys/1", ``, 204, ``},
		{"GET", "/accounts/1/keys", ``, 200, `[]`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(data)); resp.StatusCode != tc.status || got != tc.want {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, resp.StatusCode, got, tc.status, tc.want)
		}
	}
	if got := keys.List(nil); len(got) != 1 || got[0].Secret != "" || got[0].Account != 2 {
		t.Errorf("stored keys %+v: want account 2's, its secret not kept", got)
	}
}
