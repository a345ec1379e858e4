package engine

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/value"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// storeModule is the store builtin:
//
//	store.put(name, value, expires_at = None, labels = {}, vendor = "", target = "", state = "current")
//	store.get(name) -> secret, or None when absent
//	store.list() -> [struct(name, vendor, target, expires_at, labels, created_at, rotated_at)]
//	store.versions(name) -> [struct(id, state, value (secret), labels, expires_at, ...)], newest first
//	store.promote(name) -> bool    the newest pending version becomes current;
//	                               False when nothing was pending (a resumed run
//	                               promoting again)
//	store.set_state(id, state)     e.g. "revoked" once the vendor revoked a previous version
//	store.delete(name)
//
// A dry-run changes nothing: put, promote, set_state and delete become plan
// entries.
func (r *run) storeModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "store", Members: starlark.StringDict{
		"put":       starlark.NewBuiltin("store.put", r.storePut),
		"get":       starlark.NewBuiltin("store.get", r.storeGet),
		"list":      starlark.NewBuiltin("store.list", r.storeList),
		"versions":  starlark.NewBuiltin("store.versions", r.storeVersions),
		"promote":   starlark.NewBuiltin("store.promote", r.storePromote),
		"set_state": starlark.NewBuiltin("store.set_state", r.storeSetState),
		"delete":    starlark.NewBuiltin("store.delete", r.storeDelete),
	}}
}

func (r *run) storePut(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, vendor, target string
	tokenState := store.Current
	var v, expires starlark.Value
	var labels *starlark.Dict
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &v, "expires_at?", &expires, "labels?", &labels, "vendor?", &vendor, "target?", &target, "state?", &tokenState); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("store.put: empty name")
	}
	if tokenState != store.Current && tokenState != store.Pending {
		return nil, fmt.Errorf("store.put: state %q: want %q or %q", tokenState, store.Current, store.Pending)
	}
	t := store.Token{Name: name, Vendor: vendor, Target: r.storeTarget(target), RunID: r.id, State: tokenState}
	_, unknownValue := v.(*value.Unknown)
	_, unknownExpiry := expires.(*value.Unknown)
	unknownLabel := false
	switch x := v.(type) {
	case *value.Secret:
		t.Value = x.Reveal()
	case starlark.String:
		r.red.Add(string(x))
		t.Value = string(x)
	case *value.Unknown:
	default:
		return nil, fmt.Errorf("store.put: for parameter value: got %s, want secret or string", v.Type())
	}
	switch x := expires.(type) {
	case nil, starlark.NoneType, *value.Unknown:
	case starlarktime.Time:
		t.ExpiresAt = time.Time(x)
	default:
		return nil, fmt.Errorf("store.put: for parameter expires_at: got %s, want time", expires.Type())
	}
	if labels != nil {
		t.Labels = map[string]string{}
		for _, item := range labels.Items() {
			k, ok1 := starlark.AsString(item[0])
			val, ok2 := starlark.AsString(item[1])
			if u, ok := item[1].(*value.Unknown); ok {
				val, ok2, unknownLabel = u.String(), true, true
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("store.put: labels must map strings to strings")
			}
			t.Labels[k] = val
		}
	}
	pos := thread.CallFrame(1).Pos.String()
	if r.plan != nil {
		if !unknownValue && !unknownExpiry && !unknownLabel {
			same, err := r.storedAlready(t)
			if err != nil {
				return nil, fmt.Errorf("store.put: %w", err)
			}
			if same {
				// A rerun storing what it stored before changes nothing, so
				// a dry-run after an apply can say "no changes".
				r.plan.AddUnchanged(fmt.Sprintf("put.%s.%d", name, len(r.steps)), "store.put", pos,
					fmt.Sprintf("token %q is stored already (%s), unchanged", name, tokenState))
				return starlark.None, nil
			}
		}
		note := fmt.Sprintf("would store token %q (%s)", name, tokenState)
		if unknownValue {
			note += " with " + v.String()
		}
		if unknownExpiry {
			note += ", expiring " + expires.String()
		} else if !t.ExpiresAt.IsZero() {
			note += ", expiring " + t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		r.plan.AddChange(fmt.Sprintf("put.%s.%d", name, len(r.steps)), "store.put", pos, note)
		return starlark.None, nil
	}
	if unknownValue || unknownExpiry || unknownLabel {
		return nil, fmt.Errorf("store.put: value is not known")
	}
	if err := r.store.Put(r.ctx, t); err != nil {
		return nil, fmt.Errorf("store.put: %w", err)
	}
	return starlark.None, nil
}

// storedAlready reports whether t's name holds a version in t's state with
// t's value, vendor, target, expiry and labels: putting t would change
// nothing but the run id that last stored it.
func (r *run) storedAlready(t store.Token) (bool, error) {
	versions, err := r.store.Versions(r.ctx, t.Target, t.Name)
	if err != nil {
		return false, err
	}
	for _, v := range versions {
		if v.State == t.State && v.Value == t.Value && v.Vendor == t.Vendor && v.Target == t.Target &&
			v.ExpiresAt.Equal(t.ExpiresAt) && maps.Equal(v.Labels, t.Labels) {
			return true, nil
		}
	}
	return false, nil
}

func (r *run) storeGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	t, err := r.store.Get(r.ctx, r.storeTarget(""), name)
	if err == store.ErrNotFound {
		return starlark.None, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store.get: %w", err)
	}
	r.red.Add(t.Value)
	return value.NewSecret(t.Value, "store:"+name), nil
}

func (r *run) storeList(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	tokens, err := r.store.List(r.ctx)
	if err != nil {
		return nil, fmt.Errorf("store.list: %w", err)
	}
	out := make([]starlark.Value, 0, len(tokens))
	for _, t := range tokens {
		labels := starlark.NewDict(len(t.Labels))
		for k, v := range t.Labels {
			labels.SetKey(starlark.String(k), starlark.String(v))
		}
		out = append(out, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"name": starlark.String(t.Name), "vendor": starlark.String(t.Vendor), "target": starlark.String(t.Target),
			"expires_at": timeOrNone(t.ExpiresAt), "created_at": timeOrNone(t.CreatedAt), "rotated_at": timeOrNone(t.RotatedAt),
			"labels": labels,
		}))
	}
	return starlark.NewList(out), nil
}

// storeTarget is the target a store call is scoped to: the run's target
// (the inventory target of a fleet run, --target or the url var of a single
// run), else what the flow passed as target= (flows written before targets
// existed pass their URL).
func (r *run) storeTarget(given string) string {
	if r.opts.Target != "" {
		return r.opts.Target
	}
	return given
}

func timeOrNone(t time.Time) starlark.Value {
	if t.IsZero() {
		return starlark.None
	}
	return starlarktime.Time(t)
}

func (r *run) storeDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if r.plan != nil {
		r.plan.AddChange(fmt.Sprintf("delete.%s.%d", name, len(r.steps)), "store.delete", thread.CallFrame(1).Pos.String(), fmt.Sprintf("would delete token %q", name))
		return starlark.None, nil
	}
	if err := r.store.Delete(r.ctx, r.storeTarget(""), name); err != nil && err != store.ErrNotFound {
		return nil, fmt.Errorf("store.delete: %w", err)
	}
	return starlark.None, nil
}

func (r *run) storeVersions(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	versions, err := r.store.Versions(r.ctx, r.storeTarget(""), name)
	if err != nil {
		return nil, fmt.Errorf("store.versions: %w", err)
	}
	out := make([]starlark.Value, 0, len(versions))
	for _, t := range versions {
		r.red.Add(t.Value)
		labels := starlark.NewDict(len(t.Labels))
		for k, v := range t.Labels {
			labels.SetKey(starlark.String(k), starlark.String(v))
		}
		out = append(out, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"id": starlark.String(t.ID), "name": starlark.String(t.Name), "state": starlark.String(t.State),
			"value": value.NewSecret(t.Value, "store:"+t.Name+"@"+t.ID), "vendor": starlark.String(t.Vendor),
			"target": starlark.String(t.Target), "labels": labels, "expires_at": timeOrNone(t.ExpiresAt),
			"created_at": timeOrNone(t.CreatedAt), "rotated_at": timeOrNone(t.RotatedAt),
		}))
	}
	return starlark.NewList(out), nil
}

func (r *run) storePromote(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if r.plan != nil {
		r.plan.AddChange(fmt.Sprintf("promote.%s.%d", name, len(r.steps)), "store.promote", thread.CallFrame(1).Pos.String(), fmt.Sprintf("would make the pending version of %q current", name))
		return starlark.True, nil
	}
	if err := r.store.Promote(r.ctx, r.storeTarget(""), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return starlark.False, nil
		}
		return nil, fmt.Errorf("store.promote: %w", err)
	}
	return starlark.True, nil
}

func (r *run) storeSetState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id, st string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "id", &id, "state", &st); err != nil {
		return nil, err
	}
	switch st {
	case store.Previous, store.Revoked:
	default:
		return nil, fmt.Errorf("store.set_state: state %q: want %q or %q", st, store.Previous, store.Revoked)
	}
	if r.plan != nil {
		r.plan.AddChange(fmt.Sprintf("state.%s.%d", id, len(r.steps)), "store.set_state", thread.CallFrame(1).Pos.String(), fmt.Sprintf("would mark version %s %s", id, st))
		return starlark.None, nil
	}
	if err := r.store.SetState(r.ctx, id, st); err != nil {
		return nil, fmt.Errorf("store.set_state: %w", err)
	}
	return starlark.None, nil
}
