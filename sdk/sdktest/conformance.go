package sdktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Samples are the values Conformance calls a plugin's ops with.
type Samples struct {
	// Conn are connection fields besides url. By default the registration's
	// Username and Password fill fields named username and password, and
	// the files its Setup writes fill the fields they are named after.
	Conn map[string]any
	// Args are arguments per op. An op not listed gets a placeholder of the
	// declared type for each required parameter; list a write op here when
	// its dry-run needs real values to get as far as its writes.
	Args map[string]map[string]any
	// NotSecret names fields that are named like credentials but are
	// identifiers (a vendor that calls its ids "tokens").
	NotSecret []string
}

// Conformance checks what every plugin must honour, against a fresh
// simulator built from reg:
//
//   - schema: names snake_case; plugin, ops and connection fields
//     documented (one line for an op; undocumented parameters are logged);
//     effects and result types set; fields named like credentials
//     (password, token, secret, api_key, ...) declared secret unless
//     Samples.NotSecret says they are identifiers;
//   - invalid_argument: an ill-typed required argument is refused with
//     code invalid_argument naming the parameter, before any request;
//   - dry_run: a write op sends nothing to the vendor but session requests
//     (checked on the simulator's recorder, so nothing slips past), and its
//     result is Held, a result or a typed error;
//   - apply: every op answers with a result matching its declared types or
//     a typed *sdk.Error (not internal), and no secret (a secret result field
//     or connection field) comes back in a field not declared secret;
//   - reconcile: an op that declares Reconcile answers in reconcile mode,
//     one that does not refuses.
//
// Read ops run before write ops, in the order declared.
func Conformance(t *testing.T, p *sdk.Plugin, reg simkit.Registration, samples ...Samples) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	conformance(t, func(t testing.TB, rt http.RoundTripper) *Harness { return New(t, p, rt) }, reg, samples)
}

// opener starts a fresh harness for one check; New and NewBinary are the
// two kinds.
type opener func(t testing.TB, rt http.RoundTripper) *Harness

func conformance(t *testing.T, open opener, reg simkit.Registration, samples []Samples) {
	t.Helper()
	var s Samples
	if len(samples) > 0 {
		s = samples[0]
	}
	env := newSimEnv(t, open, reg, s)
	t.Run("schema", func(t *testing.T) { checkSchema(t, env.schema, s.NotSecret) })
	t.Run("invalid_argument", func(t *testing.T) { checkInvalidArgument(t, env) })
	t.Run("dry_run", func(t *testing.T) { checkDryRun(t, env) })
	t.Run("apply", func(t *testing.T) { checkApply(t, env) })
	t.Run("reconcile", func(t *testing.T) { checkReconcile(t, env) })
}

type simEnv struct {
	open    opener
	schema  *schema.Schema
	sim     simkit.Simulator
	rt      http.RoundTripper
	conn    map[string]any
	samples Samples
}

func newSimEnv(t *testing.T, open opener, reg simkit.Registration, s Samples) *simEnv {
	t.Helper()
	sim := reg.New(simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)))
	srv, err := simkit.Serve(sim.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatalf("serve the %s simulator: %v", reg.Vendor, err)
	}
	t.Cleanup(func() { srv.Close() })
	conn := map[string]any{"url": srv.URL}
	// The declaration, read the way the engine reads it: over the wire.
	sch := open(t, srv.Client().Transport).schema
	has := func(name string) bool { return schema.FieldNamed(sch.Connection, name) != nil }
	if has("username") && reg.Username != "" {
		conn["username"] = reg.Username
	}
	if has("password") && reg.Password != "" {
		conn["password"] = reg.Password
	}
	if reg.Setup != nil {
		files, err := reg.Setup(sim, t.TempDir())
		if err != nil {
			t.Fatalf("%s simulator setup: %v", reg.Vendor, err)
		}
		for k, v := range files {
			if has(k) {
				conn[k] = v
			}
		}
	}
	for k, v := range s.Conn {
		conn[k] = v
	}
	return &simEnv{open: open, schema: sch, sim: sim, rt: srv.Client().Transport, conn: conn, samples: s}
}

var credentialName = regexp.MustCompile(`(^|_)(password|passphrase|secret|token|api_key|apikey|private_key|access_token|refresh_token)$`)

func checkSchema(t *testing.T, p *schema.Schema, notSecret []string) {
	ids := map[string]bool{}
	for _, n := range notSecret {
		ids[n] = true
	}
	if err := validateDeclared(p); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(p.Doc) == "" {
		t.Errorf("plugin %s has no Doc", p.Name)
	}
	fields := func(where string, fs []schema.Field, needDoc bool) {
		for _, f := range fs {
			if strings.TrimSpace(f.Doc) == "" {
				if needDoc {
					t.Errorf("%s: field %s has no Doc", where, f.Name)
				} else {
					// Reported, not failed: many parameters are
					// self-explanatory, and the op's Doc says the rest.
					t.Logf("%s: field %s has no Doc", where, f.Name)
				}
			}
			if credentialName.MatchString(f.Name) && !f.Secret && !ids[f.Name] {
				t.Errorf("%s: field %s is named like a credential but not declared secret (Type: sdk.Secret or Secret: true)", where, f.Name)
			}
		}
	}
	fields("connection", p.Connection, true)
	for _, op := range p.Ops {
		if d := strings.TrimSpace(op.Doc); d == "" || strings.Contains(d, "\n") {
			t.Errorf("op %s: Doc must be one line, got %q", op.Name, op.Doc)
		}
		fields("op "+op.Name+" params", op.Params, false)
		fields("op "+op.Name+" results", op.Results, false)
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// validateDeclared holds the declaration as Describe sent it to the rules
// sdk.Plugin.Validate enforces in Go, so a plugin in another language
// meets them too.
func validateDeclared(s *schema.Schema) error {
	if !snakeCase.MatchString(s.Name) {
		return fmt.Errorf("plugin name %q: want lower snake_case", s.Name)
	}
	fields := func(where string, fs []schema.Field) error {
		seen := map[string]bool{}
		for _, f := range fs {
			switch {
			case !snakeCase.MatchString(f.Name):
				return fmt.Errorf("%s: field name %q: want lower snake_case", where, f.Name)
			case seen[f.Name]:
				return fmt.Errorf("%s: field %q declared twice", where, f.Name)
			case f.Type < schema.String || f.Type > schema.Secret:
				return fmt.Errorf("%s: field %q has no type", where, f.Name)
			case f.Required && f.DefaultJSON != "":
				return fmt.Errorf("%s: field %q is required and has a default", where, f.Name)
			}
			seen[f.Name] = true
		}
		return nil
	}
	if err := fields("connection", s.Connection); err != nil {
		return err
	}
	if schema.FieldNamed(s.Connection, "url") == nil {
		return fmt.Errorf("connection schema must declare a %q field", "url")
	}
	for _, reserved := range []string{"ca_file", "insecure"} {
		if schema.FieldNamed(s.Connection, reserved) != nil {
			return fmt.Errorf("connection field %q is reserved for the engine", reserved)
		}
	}
	seen := map[string]bool{}
	for _, op := range s.Ops {
		if !snakeCase.MatchString(op.Name) || seen[op.Name] {
			return fmt.Errorf("op name %q: want lower snake_case, declared once", op.Name)
		}
		seen[op.Name] = true
		if err := fields("op "+op.Name+" params", op.Params); err != nil {
			return err
		}
		if err := fields("op "+op.Name+" results", op.Results); err != nil {
			return err
		}
	}
	return nil
}

// placeholder is a value of type t for a parameter Samples does not give.
func placeholder(f schema.Field) any {
	switch f.Type {
	case schema.Int:
		return 1
	case schema.Float:
		return 1.5
	case schema.Bool:
		return false
	case schema.Timestamp:
		return "2026-06-02T08:00:00Z"
	case schema.Duration:
		return "24h"
	case schema.List:
		return []any{}
	case schema.Object:
		return map[string]any{}
	case schema.Secret:
		return "conformance-secret-value"
	}
	return "conformance"
}

func (e *simEnv) args(op *schema.Op) map[string]any {
	if a, ok := e.samples.Args[op.Name]; ok {
		return a
	}
	out := map[string]any{}
	for _, f := range op.Params {
		if f.Required {
			out[f.Name] = placeholder(f)
		}
	}
	return out
}

// wrongType is a value no parameter of type t accepts.
func wrongType(t schema.Type) any {
	if t == schema.String || t == schema.Secret || t == schema.Timestamp || t == schema.Duration {
		return []any{"not", "a", "string"}
	}
	return "not-a-" + t.String()
}

func checkInvalidArgument(t *testing.T, e *simEnv) {
	h := e.open(t, e.rt)
	for _, op := range h.schema.Ops {
		for _, f := range op.Params {
			if !f.Required {
				continue
			}
			args := e.args(op)
			args[f.Name] = wrongType(f.Type)
			h.Reset()
			_, err := h.Call(op.Name, e.conn, args)
			var se *sdk.Error
			if !errors.As(err, &se) || se.Code != sdk.CodeInvalidArgument || se.Param != f.Name {
				t.Errorf("%s with %s of the wrong type: got %v, want invalid_argument for %s", op.Name, f.Name, err, f.Name)
			}
			for _, ex := range h.Exchanges() {
				if ex.Sent() {
					t.Errorf("%s with %s of the wrong type sent %s %s", op.Name, f.Name, ex.Method, ex.URL)
				}
			}
		}
	}
}

func checkDryRun(t *testing.T, e *simEnv) {
	h := e.open(t, e.rt)
	h.DryRun = true
	before := len(e.sim.Recorder().Entries())
	for _, op := range h.schema.Ops {
		if op.Effect != schema.Write {
			continue
		}
		_, err := h.Call(op.Name, e.conn, e.args(op))
		var se *sdk.Error
		if err != nil && err != Held && !errors.As(err, &se) {
			t.Errorf("%s in a dry-run: %v, want Held, a result or a typed error", op.Name, err)
		}
	}
	if err := h.Close("c1", e.conn); err != nil {
		t.Errorf("close the dry-run's session: %v", err)
	}
	sessions := map[string]int{}
	for _, ex := range h.Exchanges() {
		if ex.Sent() && ex.Session {
			if u, err := url.Parse(ex.URL); err == nil {
				sessions[ex.Method+" "+u.Path]++
			}
		}
	}
	for _, en := range e.sim.Recorder().Entries()[before:] {
		if !en.Write {
			continue
		}
		k := en.Method + " " + en.Path
		if sessions[k] == 0 {
			t.Errorf("the simulator received %s during a dry-run, and it was not a session request", k)
			continue
		}
		sessions[k]--
	}
}

func checkApply(t *testing.T, e *simEnv) {
	h := e.open(t, e.rt)
	var secrets []string
	for _, f := range h.schema.Connection {
		if s, ok := e.conn[f.Name].(string); ok && f.Secret && len(s) >= 6 {
			secrets = append(secrets, s)
		}
	}
	for _, effect := range []schema.Effect{schema.Read, schema.Write} {
		for _, op := range h.schema.Ops {
			if op.Effect != effect {
				continue
			}
			out, err := h.Call(op.Name, e.conn, e.args(op))
			var se *sdk.Error
			switch {
			case errors.As(err, &se) && se.Code == sdk.CodeInternal:
				t.Errorf("%s: internal error %q: want a typed error (invalid_argument, not_found, ...) or a result", op.Name, se.Message)
			case err != nil && se == nil:
				t.Errorf("%s: %v", op.Name, err)
			case err == nil:
				checkSecretsStay(t, op, out, secrets)
			}
		}
	}
}

// checkSecretsStay fails when a secret value (of a secret result field or
// the connection) appears in a field not declared secret.
func checkSecretsStay(t *testing.T, op *schema.Op, out map[string]any, connSecrets []string) {
	secrets := append([]string(nil), connSecrets...)
	for _, f := range op.Results {
		if s, ok := out[f.Name].(string); ok && f.Secret && len(s) >= 6 {
			secrets = append(secrets, s)
		}
	}
	for name, v := range out {
		if f := schema.FieldNamed(op.Results, name); f != nil && f.Secret {
			continue
		}
		b, _ := json.Marshal(v)
		for _, s := range secrets {
			if strings.Contains(string(b), s) || strings.Contains(string(b), strings.Trim(jsonString(s), `"`)) {
				t.Errorf("%s: field %s holds a secret in plain; declare it secret or leave the secret out", op.Name, name)
			}
		}
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func checkReconcile(t *testing.T, e *simEnv) {
	h := e.open(t, e.rt)
	for _, op := range h.schema.Ops {
		_, _, err := h.Reconcile(op.Name, e.conn, e.args(op))
		var se *sdk.Error
		switch {
		case op.Reconcilable && err != nil && (!errors.As(err, &se) || se.Code == sdk.CodeInternal):
			t.Errorf("%s declares Reconcile but it answered %v", op.Name, err)
		case !op.Reconcilable && err == nil:
			t.Errorf("%s declares no Reconcile yet answered in reconcile mode", op.Name)
		}
	}
}
