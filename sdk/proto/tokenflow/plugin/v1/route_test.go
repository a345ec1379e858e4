package pluginv1

import (
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
