package sdk

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fakeAPI records the request a Route sends and answers with a canned body.
type fakeAPI struct {
	method, path string
	body         any
	answer       string
	err          error
}

func (f *fakeAPI) Do(_ context.Context, _ *Call, method, path string, body, out any) error {
	f.method, f.path, f.body = method, path, body
	if f.err != nil {
		return f.err
	}
	if f.answer == "" {
		return nil
	}
	return json.Unmarshal([]byte(f.answer), out)
}

type routeArgs struct {
	Account int64  `json:"account_id"`
	Name    string `json:"name"`
	TTL     int64  `json:"seconds_to_live" wire:"secondsToLive"`
}

type routeResult struct {
	ID        int64  `json:"id"`
	ExpiresAt string `json:"expires_at" wire:"expiresAt"`
}

type routeList struct {
	Items []routeResult `json:"items"`
}

func TestRouteFillsThePathSendsTheRestAndDecodesWireNames(t *testing.T) {
	api := &fakeAPI{answer: `{"id": 7, "expiresAt": "2026-07-01T00:00:00Z", "extra": true}`}
	h := Route[routeArgs, routeResult](api, "POST /api/accounts/{account_id}/tokens")
	out, err := h(context.Background(), &Call{}, routeArgs{Account: 9007199254740993, Name: "ci bot", TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	if api.method != "POST" || api.path != "/api/accounts/9007199254740993/tokens" {
		t.Errorf("sent %s %s: want the id exact in the path", api.method, api.path)
	}
	if b, _ := json.Marshal(api.body); string(b) != `{"name":"ci bot","secondsToLive":60}` {
		t.Errorf("body %s: want the path argument left out and the wire name used", b)
	}
	if out != (routeResult{ID: 7, ExpiresAt: "2026-07-01T00:00:00Z"}) {
		t.Errorf("result %+v", out)
	}
}

func TestRouteQueryBareListAndNoBody(t *testing.T) {
	api := &fakeAPI{answer: `[{"id": 1}, {"id": 2}]`}
	h := Route[struct {
		Name string `json:"name"`
	}, routeList](api, "GET /api/tokens?name={name}")
	out, err := h(context.Background(), &Call{}, struct {
		Name string `json:"name"`
	}{"a b/c"})
	if err != nil {
		t.Fatal(err)
	}
	if api.path != "/api/tokens?name=a+b%2Fc" || api.body != nil {
		t.Errorf("sent %s with body %v: want the name query-escaped and no body", api.path, api.body)
	}
	if !reflect.DeepEqual(out.Items, []routeResult{{ID: 1}, {ID: 2}}) {
		t.Errorf("a bare list answer: %+v, want it in the one field", out)
	}
	del := &fakeAPI{}
	if _, err := Route[routeArgs, struct{}](del, "DELETE /api/accounts/{account_id}")(context.Background(), &Call{}, routeArgs{Account: 3, Name: "x"}); err != nil || del.body != nil || del.path != "/api/accounts/3" {
		t.Errorf("DELETE: %v, body %v, path %s", err, del.body, del.path)
	}
}

func TestRouteMistakesAndVendorErrors(t *testing.T) {
	api := &fakeAPI{}
	for _, tc := range []struct{ route, want string }{
		{"/api/tokens", `want "METHOD /path"`},
		{"GET /api/{nope}", "{nope} names no argument"},
	} {
		_, err := Route[routeArgs, routeResult](api, tc.route)(context.Background(), &Call{}, routeArgs{})
		if !IsCode(err, CodeInternal) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("route %q: %v, want an internal error saying %q", tc.route, err, tc.want)
		}
	}
	api.err = NotFound("no such account")
	if _, err := Route[routeArgs, routeResult](api, "GET /api/x")(context.Background(), &Call{}, routeArgs{}); !IsCode(err, CodeNotFound) {
		t.Errorf("the vendor's error came back as %v", err)
	}
	api.err, api.answer = nil, `{"id": "seven"}`
	if _, err := Route[routeArgs, routeResult](api, "GET /api/x")(context.Background(), &Call{}, routeArgs{}); !IsCode(err, CodeInternal) || !strings.Contains(err.Error(), "does the result type match the API") {
		t.Errorf("an answer of the wrong shape: %v", err)
	}
}

func TestBearerJSONFields(t *testing.T) {
	got := BearerJSON{KeyField: "token"}.Fields("base URL", "the key")
	want := []Field{{Name: "url", Type: String, Required: true, Doc: "base URL"}, {Name: "token", Type: Secret, Required: true, Doc: "the key"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %+v", got)
	}
}
