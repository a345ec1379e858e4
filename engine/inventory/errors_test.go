package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ok is a valid target line to add to cases that test something else.
const ok = "targets:\n  ok: {vendor: xyz, url: https://ok.example}\n"

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		// Keys.
		{"unknown top-level key", ok + "var: {a: b}\n",
			`fleet.yaml:3: unknown key "var" in the top level (allowed: vars, groups, targets) (did you mean vars?)`},
		{"ansible hosts key", ok + "hosts: {}\n",
			`fleet.yaml:3: unknown key "hosts" in the top level (allowed: vars, groups, targets); targets are listed under targets:`},
		{"unknown target key", "targets:\n  a:\n    vendor: xyz\n    url: https://a.example\n    lables: {x: y}\n",
			`fleet.yaml:5: unknown key "lables" in target "a" (allowed: vendor, url, tls, proxy, credentials, labels, vars) (did you mean labels?)`},
		{"group key in a target", "targets:\n  a: {vendor: xyz, url: https://a.example, group: east}\n",
			`fleet.yaml:2: unknown key "group" in target "a" (allowed: vendor, url, tls, proxy, credentials, labels, vars); a target belongs to the groups it is nested in (groups: NAME: targets:)`},
		{"unknown group key", ok + "groups:\n  g:\n    target: {}\n",
			`fleet.yaml:5: unknown key "target" in group "g" (allowed: vars, groups, targets, labels) (did you mean targets?)`},
		{"unknown tls key", "targets:\n  a: {vendor: xyz, url: https://a.example, tls: {ca: x.pem}}\n",
			`fleet.yaml:2: unknown key "ca" in target "a": tls (allowed: ca_file, pin, insecure)`},
		{"duplicate key", "targets:\n  a:\n    vendor: xyz\n    url: https://a.example\n    url: https://b.example\n",
			`fleet.yaml:5: target "a": duplicate key "url" (first at line 4); remove one`},

		// Names.
		{"duplicate target across groups", "groups:\n  g:\n    targets:\n      a: {vendor: xyz, url: https://a.example}\ntargets:\n  a: {vendor: xyz, url: https://b.example}\n",
			`fleet.yaml:6: duplicate target "a" (first defined at fleet.yaml:4); target names must be unique in the whole file`},
		{"duplicate target in one mapping", "targets:\n  a: {vendor: xyz, url: https://a.example}\n  a: {vendor: xyz, url: https://b.example}\n",
			`fleet.yaml:3: duplicate target "a" (first defined at fleet.yaml:2); target names must be unique in the whole file`},
		{"duplicate group", ok + "groups:\n  g:\n    groups:\n      g: {}\n",
			`fleet.yaml:6: duplicate group "g" (first defined at fleet.yaml:4); group names must be unique in the whole file`},
		{"group named like a target", ok + "groups:\n  ok: {}\n",
			`fleet.yaml:4: group "ok" has the same name as the target defined at fleet.yaml:2; rename one (--limit could not tell them apart)`},
		{"target named like a group", "groups:\n  ok: {}\n" + ok,
			`fleet.yaml:4: target "ok" has the same name as the group defined at fleet.yaml:2; rename one (--limit could not tell them apart)`},
		{"invalid target name", ok + "  -bad: {vendor: xyz, url: https://a.example}\n",
			`fleet.yaml:3: invalid target name "-bad": use letters, digits, '.', '_' and '-', starting with a letter or digit`},
		{"target name with a space", ok + "  a b: {vendor: xyz, url: https://a.example}\n",
			`fleet.yaml:3: invalid target name "a b": use letters, digits, '.', '_' and '-', starting with a letter or digit`},
		{"invalid group name", ok + "groups:\n  east/1: {}\n",
			`fleet.yaml:4: invalid group name "east/1": use letters, digits, '.', '_' and '-', starting with a letter or digit`},

		// Vendor and url.
		{"missing vendor", "targets:\n  a: {url: https://a.example}\n",
			`fleet.yaml:2: target "a": missing vendor (the plugin that talks to it, e.g. vendor: acme)`},
		{"unknown vendor", "targets:\n  a: {vendor: xzy, url: https://a.example}\n",
			`fleet.yaml:2: target "a": unknown vendor "xzy" (known: zebra, xyz) (did you mean xyz?); install its plugin or fix the name`},
		{"missing url", "targets:\n  a:\n    vendor: xyz\n",
			`fleet.yaml:2: target "a": missing url (want http(s)://HOST[:PORT][/PATH])`},
		{"url not http", "targets:\n  a: {vendor: xyz, url: ftp://a.example}\n",
			`fleet.yaml:2: target "a": url "ftp://a.example" is not http or https (want http(s)://HOST[:PORT][/PATH])`},
		{"url without scheme", "targets:\n  a: {vendor: xyz, url: 10.0.0.5}\n",
			`fleet.yaml:2: target "a": url "10.0.0.5" is not http or https (want http(s)://HOST[:PORT][/PATH])`},
		{"url without host", "targets:\n  a: {vendor: xyz, url: 'https:///x'}\n",
			`fleet.yaml:2: target "a": url "https:///x" has no host (want http(s)://HOST[:PORT][/PATH])`},
		{"url unparsable", "targets:\n  a: {vendor: xyz, url: 'http://[::1'}\n",
			`fleet.yaml:2: target "a": url is not a valid URL (want http(s)://HOST[:PORT][/PATH])`},
		{"url with userinfo", "targets:\n  a: {vendor: xyz, url: 'https://admin:pw@a.example'}\n",
			`fleet.yaml:2: target "a": url must not carry a user or password (not shown); put the user in vars and the password in credentials`},

		// Credentials and secrets.
		{"plaintext credential", "targets:\n  a:\n    vendor: xyz\n    url: https://a.example\n    credentials: {XYZ_PASSWORD: hunter2}\n",
			`fleet.yaml:5: target "a": credentials: XYZ_PASSWORD: a literal value (not shown) is not allowed in an inventory; keep the secret out of the file and reference it as env:VAR (an environment variable) or file:PATH (a file readable only by you)`},
		{"misspelt env ref", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'envX:FOO'}}\n",
			`fleet.yaml:2: target "a": credentials: PW: malformed reference: the kind must be env or file (did you mean env:?); want env:VAR (an environment variable) or file:PATH (a file readable only by you)`},
		{"store ref", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'store:xyz/main'}}\n",
			`fleet.yaml:2: target "a": credentials: PW: malformed reference: the kind must be env or file; want env:VAR (an environment variable) or file:PATH (a file readable only by you)`},
		{"empty env ref", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'env:'}}\n",
			`fleet.yaml:2: target "a": credentials: PW: env: names no variable; write env:VAR`},
		{"bad env var name", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'env:MY-PW'}}\n",
			`fleet.yaml:2: target "a": credentials: PW: malformed reference: the variable after env: must be letters, digits and _ (not starting with a digit)`},
		{"empty file ref", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'file:'}}\n",
			`fleet.yaml:2: target "a": credentials: PW: file: names no file; write file:PATH (relative to the inventory's directory, or ~/...)`},
		{"empty credential", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: }}\n",
			`fleet.yaml:2: target "a": credentials: PW: want a reference, env:VAR (an environment variable) or file:PATH (a file readable only by you); got a single value`},
		{"secret-looking target var", "targets:\n  a:\n    vendor: xyz\n    url: https://a.example\n    vars: {Admin_Password: hunter2}\n",
			`fleet.yaml:5: var "Admin_Password" looks like a secret and has a literal value (not shown); put it in the target's credentials as Admin_Password: env:VAR or Admin_Password: file:PATH, or rename it if it is not a secret (a _name, _id, _file, _path, _ref or _ttl suffix is not taken for a secret)`},
		{"secret-looking group var", ok + "groups:\n  g:\n    vars:\n      api_key: abc\n",
			`fleet.yaml:6: var "api_key" looks like a secret and has a literal value (not shown); put it in the target's credentials as api_key: env:VAR or api_key: file:PATH, or rename it if it is not a secret (a _name, _id, _file, _path, _ref or _ttl suffix is not taken for a secret)`},
		{"secret-looking top var", ok + "vars: {bearer_token: 'env:X'}\n",
			`fleet.yaml:3: var "bearer_token" looks like a secret and has a literal value (not shown); put it in the target's credentials as bearer_token: env:VAR or bearer_token: file:PATH, or rename it if it is not a secret (a _name, _id, _file, _path, _ref or _ttl suffix is not taken for a secret)`},

		// Shapes.
		{"targets as a list", "targets: [a, b]\n",
			"fleet.yaml:1: targets (target name: {vendor, url, ...}) must be a mapping; got a list\nfleet.yaml:1: no targets: define targets under targets: (ungrouped) or groups: NAME: targets:"},
		{"target as a value", ok + "  b: xyz\n",
			`fleet.yaml:3: target "b" must be a mapping; got a single value`},
		{"credentials as a value", "targets:\n  a: {vendor: xyz, url: https://a.example, credentials: env:PW}\n",
			`fleet.yaml:2: target "a": credentials (NAME: env:VAR or NAME: file:PATH) must be a mapping; got a single value`},
		{"group as a list", ok + "groups:\n  g: [a]\n",
			`fleet.yaml:4: group "g" must be a mapping; got a list`},
		{"var as a mapping", ok + "vars:\n  realm: {name: x}\n",
			`fleet.yaml:4: vars: realm must be a single value (string, number or bool); got a mapping`},
		{"top level as a list", "- a\n- b\n",
			"fleet.yaml:1: the top level (vars, groups, targets) must be a mapping; got a list\nfleet.yaml:1: no targets: define targets under targets: (ungrouped) or groups: NAME: targets:"},

		// TLS.
		{"short pin", "targets:\n  a: {vendor: xyz, url: https://a.example, tls: {pin: 'sha256:9f86'}}\n",
			`fleet.yaml:2: target "a": tls: pin must be sha256: followed by 64 hex digits, the SHA-256 of the server certificate's SubjectPublicKeyInfo (openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256)`},
		{"pin without algorithm", "targets:\n  a: {vendor: xyz, url: https://a.example, tls: {pin: " + strings.Repeat("ab", 32) + "}}\n",
			`fleet.yaml:2: target "a": tls: pin must be sha256: followed by 64 hex digits, the SHA-256 of the server certificate's SubjectPublicKeyInfo (openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256)`},
		{"insecure not a bool", "targets:\n  a: {vendor: xyz, url: https://a.example, tls: {insecure: yes}}\n",
			`fleet.yaml:2: target "a": tls: insecure must be true or false`},
		{"empty ca_file", "targets:\n  a: {vendor: xyz, url: https://a.example, tls: {ca_file: ''}}\n",
			`fleet.yaml:2: target "a": tls: ca_file is empty; give the PEM file to trust, relative to the inventory's directory`},

		// The file as a whole.
		{"empty file", "",
			`fleet.yaml:1: no targets: define targets under targets: (ungrouped) or groups: NAME: targets:`},
		{"only vars and empty groups", "vars: {a: b}\ngroups:\n  g: {}\ntargets:\n",
			`fleet.yaml:1: no targets: define targets under targets: (ungrouped) or groups: NAME: targets:`},
		{"yaml syntax in a flow mapping", "targets:\n  a: {vendor: xyz\n  b: [\n",
			`fleet.yaml:2: invalid YAML: did not find expected ',' or '}'`},
		{"yaml bad indentation", "targets:\n  a: {vendor: xyz, url: https://a.example}\n b: {}\n",
			`fleet.yaml:3: invalid YAML: did not find expected key`},
		{"yaml tab", "targets:\n\ta: {}\n",
			`fleet.yaml:2: invalid YAML: found character that cannot start any token`},
		{"yaml list item in a mapping", "targets:\n  a: {}\n- b\n",
			`fleet.yaml:3: invalid YAML: did not find expected key`},
		{"two documents", ok + "---\ntargets: {}\n",
			`fleet.yaml:3: a second YAML document (after ---): an inventory is one document; merge them or use two files`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fleet.yaml", []byte(tc.src), Options{KnownVendors: []string{"zebra", "xyz"}})
			if err == nil {
				t.Fatalf("Parse succeeded, want error:\n%s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Pos, "fleet.yaml:") {
				t.Errorf("errors.As(*Error) on %T: got %+v", err, e)
			}
		})
	}
}

func TestNoVendorsInstalled(t *testing.T) {
	_, err := Parse("f.yaml", []byte("targets:\n  a: {vendor: xyz, url: https://a.example}\n"), Options{KnownVendors: []string{}})
	want := `f.yaml:2: target "a": unknown vendor "xyz" (known: none installed); install its plugin or fix the name`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// Every problem of a file is reported, in file order, up to 20 and a count.
func TestErrorListAllProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("groups:\n  g:\n    targets:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "      t%d: {vendor: nope, url: https://t.example}\n", i)
	}
	b.WriteString("targets:\n  z: {url: https://z.example}\nvars: {passwd: x}\n")
	_, err := Parse("f.yaml", []byte(b.String()), Options{KnownVendors: []string{"xyz"}})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %T %v, want an ErrorList", err, err)
	}
	if len(list) != 27 {
		t.Fatalf("%d problems, want 27:\n%v", len(list), err)
	}
	if list[0].Pos != "f.yaml:4" || list[25].Pos != "f.yaml:30" || list[26].Pos != "f.yaml:31" {
		t.Errorf("not in file order: first %s, last two %s %s", list[0].Pos, list[25].Pos, list[26].Pos)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 || lines[20] != "and 7 more" {
		t.Errorf("Error() has %d lines ending %q, want 20 problems then \"and 7 more\"", len(lines), lines[len(lines)-1])
	}
}

// A secret typed into the inventory by mistake must not be echoed back by
// the error that refuses it, wherever it was typed.
func TestLiteralSecretNeverInErrors(t *testing.T) {
	const canary = "CANARY-pw-9c1e7b"
	srcs := []string{
		"targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: " + canary + "}}\n",
		"targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'envX:" + canary + "'}}\n",
		"targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'env:" + canary + "!'}}\n",
		"targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: 'user:" + canary + "'}}\n",
		"targets:\n  a: {vendor: xyz, url: https://a.example, credentials: {PW: [" + canary + "]}}\n",
		"targets:\n  a: {vendor: xyz, url: https://a.example, vars: {password: " + canary + "}}\n",
		"groups:\n  g: {vars: {xyz_secret: " + canary + "}, targets: {a: {vendor: xyz, url: https://a.example}}}\n",
		"vars: {API_KEY: " + canary + "}\ntargets:\n  a: {vendor: xyz, url: https://a.example}\n",
		"targets:\n  a: {vendor: xyz, url: 'https://admin:" + canary + "@a.example'}\n",
		"targets:\n  a: {vendor: xyz, url: 'https://admin:" + canary + "@[::1'}\n",
		"targets:\n  a: {vendor: xyz, url: 'ftp://admin:" + canary + "@a.example'}\n",
	}
	for i, src := range srcs {
		_, err := Parse("f.yaml", []byte(src), Options{})
		if err == nil {
			t.Errorf("case %d: Parse accepted a literal secret", i)
			continue
		}
		if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "9c1e7b") {
			t.Errorf("case %d: error shows the secret: %v", i, err)
		}
	}
}

func TestNotTakenForSecrets(t *testing.T) {
	inv := parse(t, "vars: {token_name: main, password_file: /p, secret_ttl: 28d, apikey_id: 7, token: ''}\n"+ok)
	if got := inv.Targets[0].Vars["token_name"]; got != "main" {
		t.Errorf("token_name = %q", got)
	}
}

// YAML aliases can build cycles; they are errors, not a hang.
func TestAliasCycles(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"targets:\n  a: &x {vendor: xyz, url: https://a.example, <<: *x}\n",
			`f.yaml:2: target "a" (merged with <<): a merge key (<<) refers to the mapping it is in; remove it`},
		{ok + "groups:\n  g: &x {groups: {h: *x}}\n",
			`f.yaml:4: duplicate group "h" (first defined at f.yaml:4); group names must be unique in the whole file`},
	} {
		_, err := Parse("f.yaml", []byte(tc.src), Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
		}
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(ok + "  l0: &l0 {vendor: xyz, url: https://a.example}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	_, err := Parse("f.yaml", []byte(b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "expands to more than 1000000 entries through YAML aliases") {
		t.Errorf("error = %v, want the alias expansion refused", err)
	}
}
