package sdk_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

type base struct {
	Label string `json:"label" doc:"a label"`
}

type issueArgs struct {
	base
	Name    string            `json:"name" sdk:"required" doc:"the token's name"`
	TTL     time.Duration     `json:"ttl" sdk:"default=720h"`
	Scopes  []string          `json:"scopes"`
	Count   int               `json:"count" sdk:"default=2"`
	Ratio   float64           `json:"ratio"`
	Admin   bool              `json:"admin" sdk:"default=true"`
	After   time.Time         `json:"after"`
	Extra   map[string]string `json:"extra"`
	Ignored string            `json:"-"`
	hidden  string
}

type meta struct {
	Note string `json:"note"`
}

type issued struct {
	*meta
	ID        int64          `json:"id"`
	Token     string         `json:"token" sdk:"secret"`
	ExpiresAt time.Time      `json:"expires_at"`
	Lifetime  time.Duration  `json:"lifetime"`
	Revoked   *time.Time     `json:"revoked_at"`
	Echo      map[string]any `json:"echo"`
}

func TestFieldsOfDerivesTheSchemaFromTags(t *testing.T) {
	got, err := sdk.FieldsOf[issueArgs]()
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.Field{
		{Name: "label", Type: sdk.String, Doc: "a label"},
		{Name: "name", Type: sdk.String, Required: true, Doc: "the token's name"},
		{Name: "ttl", Type: sdk.Duration, Default: "720h"},
		{Name: "scopes", Type: sdk.List, Elem: sdk.String},
		{Name: "count", Type: sdk.Int, Default: int64(2)},
		{Name: "ratio", Type: sdk.Float},
		{Name: "admin", Type: sdk.Bool, Default: true},
		{Name: "after", Type: sdk.Timestamp},
		{Name: "extra", Type: sdk.Object},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FieldsOf[issueArgs] =\n%+v\nwant\n%+v", got, want)
	}
	res, err := sdk.FieldsOf[issued]()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 7 || res[0].Name != "note" || res[2].Type != sdk.Secret || res[5].Type != sdk.Timestamp || res[4].Type != sdk.Duration {
		t.Fatalf("results %+v: want token secret, lifetime duration, revoked_at timestamp", res)
	}
}

func TestTypedOpDeclarationMistakesAreValidationErrors(t *testing.T) {
	type untagged struct{ Name string }
	type anyField struct {
		V any `json:"v"`
	}
	type badDefault struct {
		N int `json:"n" sdk:"default=many"`
	}
	type badOpt struct {
		N int `json:"n" sdk:"requried"`
	}
	noop := func(context.Context, *sdk.Call, struct{}) (struct{}, error) { return struct{}{}, nil }
	for _, tc := range []struct {
		op   sdk.Op
		want string
	}{
		{sdk.ReadOp("a", "A", func(context.Context, *sdk.Call, untagged) (struct{}, error) { return struct{}{}, nil }), `op "a" params: sdk_test.untagged.Name has no json tag`},
		{sdk.WriteOp("b", "B", func(context.Context, *sdk.Call, struct{}) (anyField, error) { return anyField{}, nil }), `op "b" results: sdk_test.anyField.V: Go type interface {} has no schema type`},
		{sdk.ReadOp("c", "C", func(context.Context, *sdk.Call, badDefault) (struct{}, error) { return struct{}{}, nil }), `default "many" is not a int`},
		{sdk.ReadOp("d", "D", func(context.Context, *sdk.Call, badOpt) (struct{}, error) { return struct{}{}, nil }), `unknown sdk tag option "requried"`},
		{sdk.ReadOp("e", "E", func(context.Context, *sdk.Call, string) (struct{}, error) { return struct{}{}, nil }), `string is not a struct`},
		{sdk.ReadOp("Bad", "B", noop), `op name "Bad"`},
		{sdk.WriteOp[struct{}, struct{}]("f", "F", nil), `op "f" has no handler`},
	} {
		p := &sdk.Plugin{Name: "x", Connection: []sdk.Field{{Name: "url", Type: sdk.String}}, Ops: []sdk.Op{tc.op}}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}

// Through the real contract: arguments arrive decoded (a duration string
// becomes a time.Duration, defaults applied), and results go back with
// times and durations as the schema types them.
func TestTypedOpDecodesArgsAndEncodesResults(t *testing.T) {
	var got issueArgs
	expires := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	p := &sdk.Plugin{
		Name: "typed", Version: "1.0.0", Doc: "typed ops",
		Connection: []sdk.Field{{Name: "url", Type: sdk.String, Required: true, Doc: "base URL"}},
		Ops: []sdk.Op{sdk.WriteOp("issue", "Issue a token", func(ctx context.Context, c *sdk.Call, a issueArgs) (*issued, error) {
			got = a
			if a.Name == "refuse" {
				return nil, sdk.Conflict("token %s exists", a.Name)
			}
			return &issued{ID: 7, Token: "s3cret", ExpiresAt: expires, Lifetime: a.TTL, Echo: map[string]any{"n": a.Count}}, nil
		})},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	h := sdktest.New(t, p, http.DefaultTransport)
	conn := map[string]any{"url": "http://127.0.0.1:1"}
	out, err := h.Call("issue", conn, map[string]any{
		"name": "ci", "ttl": "90m", "scopes": []any{"read", "write"}, "after": "2026-06-01T08:00:00Z",
		"extra": map[string]any{"team": "ops"}, "ratio": 0.5, "label": "l",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := issueArgs{base: base{Label: "l"}, Name: "ci", TTL: 90 * time.Minute, Scopes: []string{"read", "write"}, Count: 2, Ratio: 0.5,
		Admin: true, After: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC), Extra: map[string]string{"team": "ops"}}
	if !reflect.DeepEqual(got, wantArgs) {
		t.Errorf("the handler got %+v, want %+v", got, wantArgs)
	}
	if out["id"] != int64(7) || out["token"] != "s3cret" || out["expires_at"] != "2026-07-01T12:00:00Z" || out["lifetime"] != "1h30m0s" {
		t.Errorf("result %v: want id 7, the token, expires_at RFC 3339, lifetime a duration string", out)
	}
	if _, ok := out["note"]; ok {
		t.Errorf("a field behind a nil embedded pointer came back as %v, want absent", out["note"])
	}
	if _, ok := out["revoked_at"]; ok {
		t.Errorf("a nil pointer result came back as %v, want absent", out["revoked_at"])
	}
	if echo, _ := out["echo"].(map[string]any); echo["n"] != int64(2) {
		t.Errorf("nested result %v", out["echo"])
	}
	_, err = h.Call("issue", conn, map[string]any{"name": "refuse"})
	if !sdk.IsCode(err, sdk.CodeConflict) {
		t.Errorf("the handler's typed error came back as %v", err)
	}
	_, err = h.Call("issue", conn, map[string]any{"name": "x", "ttl": "soon"})
	if !sdk.IsCode(err, sdk.CodeInvalidArgument) || !strings.Contains(err.Error(), "ttl") {
		t.Errorf("a malformed duration: %v, want invalid_argument naming ttl", err)
	}
}
