package engine

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.starlark.net/starlark"
)

// oldWire is what fromWire did before parseWireObject: decode with
// UseNumber, then convert each member.
func oldWire(t testing.TB, doc []byte) (map[string]starlark.Value, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, false
	}
	out := map[string]starlark.Value{}
	for k, v := range obj {
		out[k] = plainFromWire(v)
	}
	return out, true
}

// sameWire checks that what parseWireObject accepts, encoding/json
// decodes to the same values. What it refuses, fromWire decodes with
// encoding/json as before, so refusing is always safe; it reports whether
// the document was accepted.
func sameWire(t testing.TB, doc []byte) bool {
	t.Helper()
	got, _, err := parseWireObject(doc, nil)
	if err != nil {
		return false
	}
	if !json.Valid(doc) {
		t.Fatalf("%s: accepted, but it is not valid JSON", doc)
	}
	want, wantOK := oldWire(t, doc)
	if !wantOK {
		t.Fatalf("%s: accepted, but encoding/json does not decode it to an object", doc)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d members, want %d", doc, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: member %q missing", doc, k)
		}
		if eq, err := starlark.Equal(g, w); err != nil || !eq || g.Type() != w.Type() || g.String() != w.String() {
			t.Fatalf("%s: member %q is %s (%s), want %s (%s)", doc, k, g, g.Type(), w, w.Type())
		}
	}
	return true
}

// acceptedSeeds are what plugins send: all must take the direct path.
var acceptedSeeds = []string{
	`{}`,
	` { "a" : 1 , "b":[ ] ,"c":{ } } `,
	`{"entities":[{"uuid":"1","displayName":"vm-1","state":"ACTIVE","n":3,"f":1.5,"big":123456789012345678901234567890,"e":1e3,"neg":-0.25,"ok":true,"no":false,"nil":null}]}`,
	`{"s":"caf\u00e9 \"quoted\" \\ back\/slash \n","u":"héllo","bad":"` + "\xff\xfe" + `"}`,
	`{"a":1,"a":2}`,
	`{"deep":[[[[{"x":[1,[2,[3]]]}]]]]}`,
}

var wireSeeds = append(append([]string(nil), acceptedSeeds...),
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":tru}`, `{"a":nullx}`, `{"a":"\u12"}`,
	`{"a":1,}`, `{"a" 1}`, `{"a":[1,]}`, `{"a":"ctl`+"\x01"+`"}`, `[1]`, `null`, ``, `{"a":1} x`, `{"a":1}{}`, `{} }`,
)

func TestWireJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range wireSeeds {
		sameWire(t, []byte(s))
	}
	for _, s := range acceptedSeeds {
		if !sameWire(t, []byte(s)) {
			t.Errorf("%s: refused", s)
		}
	}
}

func FuzzWireJSON(f *testing.F) {
	for _, s := range wireSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { sameWire(t, doc) })
}
