package engine

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/spell"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/value"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

// var(name, default) returns the value of --var name=... (a string). With a
// default, an absent var yields the default, and a given var is converted
// to the default's type (int, bool, float).
func (r *run) varFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	raw, ok := r.opts.Vars[name]
	if !ok {
		if def == nil {
			known := make([]string, 0, len(r.opts.Vars))
			for k := range r.opts.Vars {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("var: %q is not set: pass --var %s=...%s", name, name, spell.Hint(name, known))
		}
		return def, nil
	}
	switch def.(type) {
	case starlark.Int:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("var: %s=%q: want an integer", name, raw)
		}
		return starlark.MakeInt64(n), nil
	case starlark.Bool:
		bv, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("var: %s=%q: want true or false", name, raw)
		}
		return starlark.Bool(bv), nil
	case starlark.Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return nil, fmt.Errorf("var: %s=%q: want a number", name, raw)
		}
		return starlark.Float(f), nil
	}
	return starlark.String(raw), nil
}

// secret(ref) resolves a secret reference: env:NAME, file:PATH or
// store:NAME. The value is registered with the redactor before anything can
// print it.
func (r *run) secretFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ref string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ref", &ref); err != nil {
		return nil, err
	}
	kind, arg, ok := strings.Cut(ref, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("secret: %q: want env:NAME, file:PATH or store:NAME", ref)
	}
	var v string
	switch {
	case r.opts.SecretRef != nil:
		ref, err := r.opts.SecretRef(ref)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		v = ref
	case kind == "env":
		val, ok := r.opts.Getenv(arg)
		if !ok || val == "" {
			return nil, fmt.Errorf("secret: environment variable %s is not set (or empty)", arg)
		}
		v = val
	case kind == "file":
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("secret: %v", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			r.logger.Warn("secret file is readable by group or others; chmod 600 it", "file", arg, "mode", fi.Mode().Perm().String())
		}
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("secret: %v", err)
		}
		v = strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return nil, fmt.Errorf("secret: file %s is empty", arg)
		}
	case kind == "store":
		t, err := r.store.Get(r.ctx, r.storeTarget(""), arg)
		if err != nil {
			if err == store.ErrNotFound {
				return nil, fmt.Errorf("secret: no token %q for target %q in the store", arg, r.storeTarget(""))
			}
			return nil, fmt.Errorf("secret: %w", err)
		}
		v = t.Value
	default:
		return nil, fmt.Errorf("secret: unknown reference kind %q in %q: want env:, file: or store:", kind, ref)
	}
	r.red.Add(v)
	hostnet.RegisterJSONSecrets(r.red, []byte(strings.TrimSpace(v)))
	return value.NewSecret(v, ref), nil
}

// output(name, value) records a result of the flow. Secrets are refused:
// outputs are printed and emitted as JSON.
func (r *run) output(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &v); err != nil {
		return nil, err
	}
	var out any
	switch x := v.(type) {
	case *value.Secret:
		return nil, fmt.Errorf("output: %q is a secret (%s); outputs are printed, so store it with store.put instead", name, x.From())
	case *value.Unknown:
		out = x.String()
	default:
		w := &wireCtx{r: r}
		conv, err := w.plain(v, 0)
		if err != nil {
			return nil, fmt.Errorf("output: %q: %v", name, err)
		}
		if w.unknown && r.plan != nil {
			conv = r.plan.Render(fmt.Sprint(conv))
		}
		out = conv
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range r.outputs {
		if o.Name == name {
			r.outputs[i].Value = out
			return starlark.None, nil
		}
	}
	r.outputs = append(r.outputs, Output{Name: name, Value: out})
	return starlark.None, nil
}

// duration(s) parses "28d", "12h", "1h30m" or "2w" into a time.duration.
func durationFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d value.Duration
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "d", &d); err != nil {
		return nil, err
	}
	return starlarktime.Duration(d.D), nil
}

// known(v) is False for a value a dry-run learns only at apply, True
// otherwise: flows use it to skip checks that need real values
// (if known(ok) and not ok: fail(...)).
func knownFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v); err != nil {
		return nil, err
	}
	_, unknown := v.(*value.Unknown)
	return starlark.Bool(!unknown), nil
}
