package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const selectFleet = `groups:
  east:
    targets:
      xyz-east-1: {vendor: xyz, url: https://e1.example}
      xyz-east-2: {vendor: xyz, url: https://e2.example}
    groups:
      east-lab:
        targets:
          xyz-east-lab: {vendor: xyz, url: https://el.example}
  west:
    targets:
      xyz-west-1: {vendor: xyz, url: https://w1.example}
  empty: {}
targets:
  zebra-1: {vendor: zebra, url: https://b1.example}
  zebra-2: {vendor: zebra, url: https://b2.example}
`

func TestSelect(t *testing.T) {
	inv := parse(t, selectFleet)
	all := "xyz-east-1 xyz-east-2 xyz-east-lab xyz-west-1 zebra-1 zebra-2"
	for _, tc := range []struct{ limit, want string }{
		{"", all},
		{"  ", all},
		{"east", "xyz-east-1 xyz-east-2 xyz-east-lab"}, // nested group included
		{"east-lab", "xyz-east-lab"},
		{"zebra-2", "zebra-2"},
		{"zebra-2,xyz-west-1", "xyz-west-1 zebra-2"}, // file order, not limit order
		{"west, zebra-1", "xyz-west-1 zebra-1"},
		{"zebra-*", "zebra-1 zebra-2"},
		{"xyz-east-?", "xyz-east-1 xyz-east-2"},
		{"*-[12]", "xyz-east-1 xyz-east-2 xyz-west-1 zebra-1 zebra-2"},
		{"east,!east-lab", "xyz-east-1 xyz-east-2"},
		{"!east", "xyz-west-1 zebra-1 zebra-2"}, // only exclusions: from everything
		{"!east,!zebra-*", "xyz-west-1"},
		{"*,!xyz-*", "zebra-1 zebra-2"},
		{"east,west,!xyz-east-2", "xyz-east-1 xyz-east-lab xyz-west-1"},
		{"east,,zebra-1,", "xyz-east-1 xyz-east-2 xyz-east-lab zebra-1"},
		{"east,nomatch-*", "xyz-east-1 xyz-east-2 xyz-east-lab"}, // a glob may match nothing
		{"!empty", all},
	} {
		got, err := inv.Select(tc.limit)
		if err != nil {
			t.Errorf("Select(%q): %v", tc.limit, err)
			continue
		}
		var names []string
		for _, tg := range got {
			names = append(names, tg.Name)
		}
		if s := strings.Join(names, " "); s != tc.want {
			t.Errorf("Select(%q) = %s, want %s", tc.limit, s, tc.want)
		}
	}
}

func TestSelectErrors(t *testing.T) {
	inv := parse(t, selectFleet)
	const lists = "(groups: east, east-lab, empty, west; targets: xyz-east-1, xyz-east-2, xyz-east-lab, xyz-west-1, zebra-1, ... 6 in all)"
	for _, tc := range []struct{ limit, want string }{
		{"empty", `--limit "empty" matches no target of fleet.yaml ` + lists},
		{"nomatch-*", `--limit "nomatch-*" matches no target of fleet.yaml ` + lists},
		{"east,!east", `--limit "east,!east" matches no target of fleet.yaml ` + lists},
		{"!*", `--limit "!*" matches no target of fleet.yaml ` + lists},
		{"eats", `--limit "eats": "eats" is neither a group nor a target of fleet.yaml (did you mean east?) ` + lists},
		// A misspelt exclusion must not quietly run on the target it meant to spare.
		{"east,!xyz-east-lba", `--limit "east,!xyz-east-lba": "xyz-east-lba" is neither a group nor a target of fleet.yaml (did you mean xyz-east-lab?) ` + lists},
		{"east,!", `--limit "east,!": a lone ! excludes nothing; write !NAME`},
		{"xyz-[", `--limit "xyz-[": bad glob "xyz-[": syntax error in pattern`},
	} {
		got, err := inv.Select(tc.limit)
		if err == nil {
			t.Errorf("Select(%q) = %d targets, want error %s", tc.limit, len(got), tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Select(%q) error:\n%s\nwant:\n%s", tc.limit, err, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
	}
	write("pw", "file-canary-value\n", 0o600)
	write("open.pw", "open-canary-value\n", 0o644)
	write("empty.pw", "\n", 0o600)
	path := filepath.Join(dir, "fleet.yaml")
	write("fleet.yaml", `targets:
  good:
    vendor: xyz
    url: https://a.example
    credentials: {FROM_ENV: env:GOOD_PW, FROM_FILE: file:pw}
  bad:
    vendor: xyz
    url: https://a.example
    credentials:
      UNSET: env:NOT_SET
      EMPTY_ENV: env:EMPTY
      OPEN: file:open.pw
      EMPTY_FILE: file:empty.pw
      MISSING: file:missing.pw
`, 0o600)
	inv, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GOOD_PW": "env-canary-value", "EMPTY": ""}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	got, err := inv.Targets[0].Resolve(getenv)
	if err != nil {
		t.Fatalf("Resolve(good): %v", err)
	}
	if want := (map[string]string{"FROM_ENV": "env-canary-value", "FROM_FILE": "file-canary-value"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve(good) = %v, want %v", got, want)
	}

	_, err = inv.Targets[1].Resolve(getenv)
	if err == nil {
		t.Fatal("Resolve(bad) succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		path + `:11: target bad: credential EMPTY_ENV (env:EMPTY): environment variable EMPTY is empty`,
		path + `:13: target bad: credential EMPTY_FILE (file:` + filepath.Join(dir, "empty.pw") + `): ` + filepath.Join(dir, "empty.pw") + ` is empty`,
		path + `:14: target bad: credential MISSING (file:` + filepath.Join(dir, "missing.pw") + `): cannot read the file: stat ` + filepath.Join(dir, "missing.pw") + `: no such file or directory`,
		path + `:12: target bad: credential OPEN (file:` + filepath.Join(dir, "open.pw") + `): ` + filepath.Join(dir, "open.pw") + ` has mode 0644: group or others can read it; run chmod 600 ` + filepath.Join(dir, "open.pw"),
		path + `:10: target bad: credential UNSET (env:NOT_SET): environment variable NOT_SET is not set; export it before the run`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Resolve(bad) error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "canary") {
		t.Errorf("Resolve error shows a value:\n%s", msg)
	}
	if n := strings.Count(msg, "\n") + 1; n != 5 {
		t.Errorf("Resolve(bad) reported %d problems, want all 5:\n%s", n, msg)
	}
}
