package pluginv1

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestCheckGet(t *testing.T) {
	ok := []struct {
		path   string
		params []string
	}{
		{"/api/versions/current", nil},
		{"/api/realms/{realm_id}", []string{"realm_id"}},
		{"/api/clients/{id}/tokens?state={state}", []string{"id", "state"}},
	}
	for _, c := range ok {
		if err := CheckGet(c.path, c.params); err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	bad := []struct {
		path   string
		params []string
		want   string
	}{
		{"api/x", nil, "starting with '/'"},
		{"/api/x", []string{"id"}, "parameter id is not in the path"},
		{"/api/{id}/{id}", []string{"id"}, "appears 2 times"},
		{"/api/{other}", nil, "{other} names no parameter"},
		{"/api/{Id}", nil, "not a {parameter}"},
		{"/api/a b", nil, "a space"},
	}
	for _, c := range bad {
		err := CheckGet(c.path, c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: got %v, want %q", c.path, c.params, err, c.want)
		}
	}
}

func TestFillPath(t *testing.T) {
	got, err := FillPath("/realms/{realm}/clients/{id}?name={name}&all={all}", []byte(`{"realm":"a/b c","id":42,"name":"x&y=z","all":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "/realms/a%2Fb%20c/clients/42?name=x%26y%3Dz&all=true"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for args, want := range map[string]string{
		`{}`:             "argument realm of /realms/{realm}: no value",
		`{"realm":null}`: "no value",
		`{"realm":[1]}`:  "a list or an object",
		`[1]`:            "not a JSON object",
	} {
		if _, err := FillPath("/realms/{realm}", []byte(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", args, err, want)
		}
	}
}

func TestProjectAnswer(t *testing.T) {
	fields := []*Field{{Name: "release_name", Wire: "releaseName"}, {Name: "major"}, {Name: "owner", Wire: "meta.owner.name"}, {Name: "gone"}, {Name: "empty"}}
	got, err := ProjectAnswer([]byte(`{"releaseName":"9.1","major":9,"meta":{"owner":{"name":"ops"}},"empty":null,"other":1}`), fields)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"release_name":"9.1","major":9,"owner":"ops"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, body := range []string{`[1,2]`, `"x"`, `null`, `{`, ``} {
		if _, err := ProjectAnswer([]byte(body), fields); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
	// A nested name through a value that is not an object is absent.
	got, _ = ProjectAnswer([]byte(`{"meta":"flat"}`), fields)
	if string(got) != `{}` {
		t.Fatalf("got %s", got)
	}
}

// FuzzProjectAnswer: whatever a vendor answers, reading it never panics,
// and a result is a JSON object holding, for each field, exactly the
// member its wire names (checked against encoding/json's own reading).
func FuzzProjectAnswer(f *testing.F) {
	for _, seed := range []string{`{"releaseName":"9.1","major":9}`, `{"meta":{"owner":{"name":"ops"}}}`, `{"a":null}`, `[1]`, `{`, `{"major":1e400}`, `{"releaseName":"\u00e9\ud800"}`} {
		f.Add([]byte(seed))
	}
	fields := []*Field{{Name: "release_name", Wire: "releaseName"}, {Name: "major"}, {Name: "owner", Wire: "meta.owner.name"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := ProjectAnswer(body, fields)
		if err != nil {
			return
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("result %q of %q is not a JSON object: %v", out, body, err)
		}
		// The expected values, read independently: the whole answer
		// decoded as Go values, walked by the dotted names.
		var whole any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&whole); err != nil {
			t.Fatalf("read %q, which does not decode: %v", body, err)
		}
		for _, fl := range fields {
			wire := fl.Wire
			if wire == "" {
				wire = fl.Name
			}
			var want any = whole
			for _, name := range strings.Split(wire, ".") {
				obj, _ := want.(map[string]any)
				want = obj[name]
			}
			raw, present := got[fl.Name]
			if want == nil {
				if present {
					t.Fatalf("field %s of %q: got %s, want it absent", fl.Name, body, raw)
				}
				continue
			}
			var gotV any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&gotV); err != nil || !reflect.DeepEqual(gotV, want) {
				t.Fatalf("field %s of %q: got %s, want %v", fl.Name, body, raw, want)
			}
		}
	})
}

// FuzzFillPath: any arguments either fill every {param} (nothing of the
// template's braces is left, and the path parses) or are refused.
func FuzzFillPath(f *testing.F) {
	for _, seed := range []string{`{"id":"a/b c","n":3}`, `{"id":"../..","n":-1.5e3}`, `{"id":"%2F?#","n":true}`, `{"id":null,"n":1}`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, args []byte) {
		p, err := FillPath("/items/{id}/n/{n}?q={id}", args)
		if err != nil {
			return
		}
		if strings.ContainsAny(p, "{} ") {
			t.Fatalf("%q left a brace or a space in %q", args, p)
		}
		u, err := url.Parse("https://vendor.example" + p)
		if err != nil {
			t.Fatalf("%q gave the path %q, which does not parse: %v", args, p, err)
		}
		if !strings.HasPrefix(u.EscapedPath(), "/items/") || strings.Count(u.EscapedPath(), "/") != 4 {
			t.Fatalf("%q escaped the path's segments: %q", args, u.EscapedPath())
		}
	})
}
