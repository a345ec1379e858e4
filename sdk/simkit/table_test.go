package simkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type account struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type key struct {
	ID      string `json:"id"`
	Account int    `json:"-"`
}

func status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func TestTableAssignsIDsAndAnswersVendorErrors(t *testing.T) {
	accounts := NewTable[account]("service account")
	a := accounts.Insert(account{Name: "ci"})
	b := accounts.Insert(account{Name: "ops"})
	if a.ID != 1 || b.ID != 2 {
		t.Fatalf("ids %d, %d: want 1, 2", a.ID, b.ID)
	}
	if got, err := accounts.Get("2"); err != nil || got != b {
		t.Fatalf("Get(2) = %v, %v", got, err)
	}
	if _, err := accounts.Get("9"); status(err) != 404 || err.Error() != "HTTP 404: no such service account 9" {
		t.Fatalf("Get(9): %v, want a 404 naming the account", err)
	}
	if _, err := accounts.InsertUnique(account{Name: "ci"}, func(x account) bool { return x.Name == "ci" }); status(err) != 409 || accounts.Len() != 2 {
		t.Fatalf("a clashing insert: %v, %d rows; want 409 and nothing added", err, accounts.Len())
	}
	if got := accounts.List(func(x account) bool { return x.Name == "ops" }); len(got) != 1 || got[0] != b {
		t.Fatalf("List(ops) = %v", got)
	}
	if got, err := accounts.Update("1", func(x *account) error { x.Name = "bot"; return nil }); err != nil || got.Name != "bot" {
		t.Fatalf("Update = %v, %v", got, err)
	}
	if _, err := accounts.Update("1", func(x *account) error { x.Name = "lost"; return Errorf(400, "no") }); status(err) != 400 {
		t.Fatalf("a failing update: %v", err)
	}
	if got, _ := accounts.Get("1"); got.Name != "bot" {
		t.Fatalf("a failing update was stored: %v", got)
	}
	if _, err := accounts.Delete("1"); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Delete("1"); status(err) != 404 {
		t.Fatalf("a second delete: %v, want 404", err)
	}
	if b, _ := json.Marshal(NewTable[account]("x").List(nil)); string(b) != "[]" {
		t.Fatalf("an empty list encodes as %s, want []", b)
	}
}

func TestTableStringIDsAndWhere(t *testing.T) {
	keys := NewTable[key]("key")
	k := keys.Insert(key{Account: 1})
	if len(k.ID) != 36 {
		t.Fatalf("a string id %q: want a UUID", k.ID)
	}
	mine := func(x key) bool { return x.Account == 1 }
	other := func(x key) bool { return x.Account == 2 }
	if _, err := keys.Get(k.ID, other); status(err) != 404 {
		t.Fatalf("a key of another account was found: %v", err)
	}
	if _, err := keys.Delete(k.ID, other); status(err) != 404 || keys.Len() != 1 {
		t.Fatalf("a key of another account was deleted: %v", err)
	}
	if _, err := keys.Delete(k.ID, mine); err != nil || keys.Len() != 0 {
		t.Fatalf("Delete(mine) = %v, %d left", err, keys.Len())
	}
}

func TestTableInsertUniqueIsOneStep(t *testing.T) {
	accounts := NewTable[account]("account")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = accounts.InsertUnique(account{Name: "ci"}, func(x account) bool { return x.Name == "ci" })
		}()
	}
	wg.Wait()
	if n := accounts.Len(); n != 1 {
		t.Fatalf("20 concurrent creates of one name left %d rows", n)
	}
}

func TestNewTableRefusesARowWithoutAnID(t *testing.T) {
	defer func() {
		if r := fmt.Sprint(recover()); !strings.Contains(r, "needs a field ID") {
			t.Fatalf("panic %q", r)
		}
	}()
	NewTable[struct{ Name string }]("thing")
}

func TestHandleJSON(t *testing.T) {
	b := NewBase("acme", NewRealClock())
	accounts := NewTable[account]("account")
	b.HandleJSON("POST /accounts", func(r *http.Request) (any, error) {
		in, err := Body[account](r)
		if err != nil {
			return nil, err
		}
		return Respond(http.StatusCreated, accounts.Insert(in)), nil
	})
	b.HandleJSON("GET /accounts/{id}", func(r *http.Request) (any, error) { return accounts.Get(r.PathValue("id")) })
	b.HandleJSON("DELETE /accounts/{id}", func(r *http.Request) (any, error) {
		_, err := accounts.Delete(r.PathValue("id"))
		return nil, err
	})
	b.HandleJSON("GET /boom", func(*http.Request) (any, error) { return nil, fmt.Errorf("disk on fire") })
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()

	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(data))
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/accounts", `{"name":"ci"}`, 201, `{"id":1,"name":"ci"}`},
		{"POST", "/accounts", `{"name":`, 400, `{"message":"invalid JSON body: unexpected end of input"}`},
		{"GET", "/accounts/1", "", 200, `{"id":1,"name":"ci"}`},
		{"GET", "/accounts/2", "", 404, `{"message":"no such account 2"}`},
		{"DELETE", "/accounts/1", "", 204, ``},
		{"DELETE", "/accounts/1", "", 404, `{"message":"no such account 1"}`},
		{"GET", "/boom", "", 500, `{"message":"disk on fire"}`},
	} {
		if code, body := do(tc.method, tc.path, tc.body); code != tc.status || body != tc.want {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
	if n := len(b.Recorder().Entries()); n != 7 {
		t.Errorf("the recorder saw %d requests, want 7", n)
	}
}
