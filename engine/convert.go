package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/value"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// wireCtx carries what a conversion to the wire needs.
type wireCtx struct {
	r *run
	// unknown is set when the value held an unknown.
	unknown bool
}

// toWire converts a flow value for a field of type f into its JSON form. A
// secret is revealed only into a secret field; an unknown becomes its
// placeholder.
func (w *wireCtx) toWire(v starlark.Value, f schema.Field) (any, error) {
	if err := checkWireString(v); err != nil {
		return nil, err
	}
	if u, ok := v.(*value.Unknown); ok {
		w.unknown = true
		return u.Placeholder(), nil
	}
	if v == starlark.None {
		return nil, nil
	}
	switch f.Type {
	case schema.Secret:
		switch x := v.(type) {
		case *value.Secret:
			return x.Reveal(), nil
		case starlark.String:
			// A plain string given where a secret goes becomes one.
			w.r.red.Add(string(x))
			return string(x), nil
		}
		return nil, fmt.Errorf("got %s, want secret or string", v.Type())
	case schema.String:
		if s, ok := v.(starlark.String); ok {
			if f.Secret {
				w.r.red.Add(string(s))
			}
			return string(s), nil
		}
		if s, ok := v.(*value.Secret); ok && f.Secret {
			return s.Reveal(), nil
		}
	case schema.Int:
		if i, ok := v.(starlark.Int); ok {
			n, ok := i.Int64()
			if !ok {
				return nil, fmt.Errorf("integer %s out of range", i)
			}
			return n, nil
		}
	case schema.Float:
		switch x := v.(type) {
		case starlark.Float:
			return float64(x), nil
		case starlark.Int:
			f, _ := starlark.AsFloat(x)
			return f, nil
		}
	case schema.Bool:
		if b, ok := v.(starlark.Bool); ok {
			return bool(b), nil
		}
	case schema.Timestamp:
		switch x := v.(type) {
		case starlarktime.Time:
			return time.Time(x).UTC().Format(time.RFC3339Nano), nil
		case starlark.String:
			t, err := time.Parse(time.RFC3339, string(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time", string(x))
			}
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		return nil, fmt.Errorf("got %s, want time", v.Type())
	case schema.Duration:
		var d value.Duration
		if err := d.Unpack(v); err != nil {
			return nil, err
		}
		return d.D.String(), nil
	case schema.List, schema.Object:
		return w.plain(v, f.Type)
	default:
		return w.plain(v, 0)
	}
	return nil, fmt.Errorf("got %s, want %s", v.Type(), f.Type)
}

// plain converts lists, dicts and scalars without a schema. Secrets are
// refused: inside a list or dict they would lose their protection.
func (w *wireCtx) plain(v starlark.Value, want schema.Type) (any, error) {
	if err := checkWireString(v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case *value.Unknown:
		w.unknown = true
		return x.Placeholder(), nil
	case *value.Secret:
		return nil, fmt.Errorf("a secret cannot be passed inside a list or dict; pass it to a secret parameter")
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		if want == 0 {
			return string(x), nil
		}
	case starlark.Bool:
		if want == 0 {
			return bool(x), nil
		}
	case starlark.Int:
		if want == 0 {
			if n, ok := x.Int64(); ok {
				return n, nil
			}
			return x.BigInt(), nil
		}
	case starlark.Float:
		if want == 0 {
			return float64(x), nil
		}
	case starlarktime.Time:
		if want == 0 {
			return time.Time(x).UTC().Format(time.RFC3339Nano), nil
		}
	case starlarktime.Duration:
		if want == 0 {
			return time.Duration(x).String(), nil
		}
	case *starlark.List, starlark.Tuple:
		if want == 0 || want == schema.List {
			it := starlark.Iterate(x)
			defer it.Done()
			out := []any{}
			var e starlark.Value
			for it.Next(&e) {
				c, err := w.plain(e, 0)
				if err != nil {
					return nil, err
				}
				out = append(out, c)
			}
			return out, nil
		}
	case *starlark.Dict:
		if want == 0 || want == schema.Object {
			out := map[string]any{}
			for _, item := range x.Items() {
				k, ok := item[0].(starlark.String)
				if !ok {
					return nil, fmt.Errorf("dict keys must be strings, got %s", item[0].Type())
				}
				c, err := w.plain(item[1], 0)
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", string(k), err)
				}
				out[string(k)] = c
			}
			return out, nil
		}
	case *starlarkstruct.Struct:
		if want == 0 || want == schema.Object {
			out := map[string]any{}
			for _, name := range x.AttrNames() {
				fv, _ := x.Attr(name)
				c, err := w.plain(fv, 0)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", name, err)
				}
				out[name] = c
			}
			return out, nil
		}
	default:
		return nil, fmt.Errorf("cannot pass a %s", v.Type())
	}
	wantName := "value"
	if want != 0 {
		wantName = want.String()
	}
	return nil, fmt.Errorf("got %s, want %s", v.Type(), wantName)
}

// fromWire converts an op result into a struct: declared fields typed per
// the schema (secrets become Secret values and are registered, timestamps
// become times), undeclared fields as plain values.
func (r *run) fromWire(call string, resultJSON []byte, fields []schema.Field) (starlark.Value, error) {
	if v, ok, err := r.fromWireDirect(call, resultJSON, fields); ok {
		return v, err
	}
	var obj map[string]any
	if len(bytes.TrimSpace(resultJSON)) > 0 && !bytes.Equal(bytes.TrimSpace(resultJSON), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(resultJSON))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("plugin returned a result that is not a JSON object: %v", err)
		}
	}
	d := starlark.StringDict{}
	for _, f := range fields {
		raw, ok := obj[f.Name]
		if !ok || raw == nil {
			d[f.Name] = starlark.None
			continue
		}
		// The declared type is a promise the plugin made: hold it to it
		// (the same check sdktest applies) rather than guess.
		if err := schema.CheckValue(raw, f); err != nil {
			return nil, schemaMismatch(call, f, err)
		}
		v, err := r.fieldFromWire(call, raw, f)
		if err != nil {
			return nil, fmt.Errorf("result field %s: %w", f.Name, err)
		}
		d[f.Name] = v
	}
	for name, raw := range obj {
		if _, ok := d[name]; ok {
			continue
		}
		d[name] = plainFromWire(raw)
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, d), nil
}

func schemaMismatch(call string, f schema.Field, err error) error {
	return fmt.Errorf("%s returned a result that does not match its schema: result field %s: %w", call, f.Name, err)
}

// checkParsed is schema.CheckValue for a value parseWireObject made
// (Starlark values rather than decoded JSON); timestamps, durations and
// secrets never get here (the direct path keeps them raw).
func checkParsed(v starlark.Value, t, elem schema.Type) error {
	ok := true
	switch t {
	case schema.String:
		_, ok = v.(starlark.String)
	case schema.Int:
		_, ok = v.(starlark.Int)
	case schema.Float:
		switch v.(type) {
		case starlark.Float, starlark.Int:
		default:
			ok = false
		}
	case schema.Bool:
		_, ok = v.(starlark.Bool)
	case schema.List:
		l, isList := v.(*starlark.List)
		if !isList {
			ok = false
			break
		}
		if elem == 0 || elem == schema.Timestamp || elem == schema.Duration || elem == schema.Secret {
			return nil
		}
		for i := 0; i < l.Len(); i++ {
			if e := l.Index(i); e != starlark.None {
				if err := checkParsed(e, elem, 0); err != nil {
					return fmt.Errorf("element %d: %w", i, err)
				}
			}
		}
	case schema.Object:
		_, ok = v.(*starlarkstruct.Struct)
	}
	if !ok {
		return fmt.Errorf("got %s, want %s", v.Type(), t)
	}
	return nil
}

// fromWireDirect is fromWire through parseWireObject (wirejson.go). ok
// is false when the result is not a JSON object it could parse: fromWire
// then decodes it as before, and reports what is wrong with it.
func (r *run) fromWireDirect(call string, resultJSON []byte, fields []schema.Field) (starlark.Value, bool, error) {
	special := map[string]bool{}
	for _, f := range fields {
		if f.Secret || f.Type == schema.Secret || f.Type == schema.Timestamp || f.Type == schema.Duration {
			special[f.Name] = true
		}
	}
	vals, raws, err := parseWireObject(resultJSON, special)
	if err != nil {
		return nil, false, nil
	}
	d := make(starlark.StringDict, len(vals)+len(raws))
	for _, f := range fields {
		if special[f.Name] {
			raw, ok := raws[f.Name]
			if !ok || raw == nil {
				d[f.Name] = starlark.None
				continue
			}
			if err := schema.CheckValue(raw, f); err != nil {
				return nil, true, schemaMismatch(call, f, err)
			}
			v, err := r.fieldFromWire(call, raw, f)
			if err != nil {
				return nil, true, fmt.Errorf("result field %s: %w", f.Name, err)
			}
			d[f.Name] = v
			continue
		}
		v, ok := vals[f.Name]
		if !ok || v == starlark.None {
			d[f.Name] = starlark.None
			continue
		}
		// The same promise fromWire holds the plugin to, checked on the
		// values the direct parser made.
		if err := checkParsed(v, f.Type, f.Elem); err != nil {
			return nil, true, schemaMismatch(call, f, err)
		}
		d[f.Name] = v
	}
	for name, v := range vals {
		if _, ok := d[name]; !ok {
			d[name] = v
		}
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, d), true, nil
}

func (r *run) fieldFromWire(call string, raw any, f schema.Field) (starlark.Value, error) {
	if f.Secret || f.Type == schema.Secret {
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("secret field is %T, want string", raw)
		}
		r.red.Add(s)
		return value.NewSecret(s, call+"."+f.Name), nil
	}
	switch f.Type {
	case schema.Timestamp:
		switch x := raw.(type) {
		case string:
			t, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time", x)
			}
			return starlarktime.Time(t), nil
		}
		return nil, fmt.Errorf("got %T, want time", raw)
	case schema.Duration:
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("got %T, want duration string", raw)
		}
		d, err := value.ParseDuration(s)
		if err != nil {
			if d2, err2 := time.ParseDuration(s); err2 == nil {
				d, err = d2, nil
			} else {
				return nil, err
			}
		}
		return starlarktime.Duration(d), nil
	}
	return plainFromWire(raw), nil
}

// plainFromWire converts decoded JSON: objects become structs (field access
// with a dot, as for results), arrays lists.
func plainFromWire(raw any) starlark.Value {
	switch x := raw.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case string:
		return starlark.String(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return starlark.MakeInt64(i)
		}
		if bi, ok := new(big.Int).SetString(string(x), 10); ok {
			return starlark.MakeBigInt(bi)
		}
		f, _ := x.Float64()
		return starlark.Float(f)
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = plainFromWire(e)
		}
		return starlark.NewList(l)
	case map[string]any:
		// FromStringDict sorts the fields itself.
		d := make(starlark.StringDict, len(x))
		for k, v := range x {
			d[k] = plainFromWire(v)
		}
		return starlarkstruct.FromStringDict(starlarkstruct.Default, d)
	}
	return starlark.None
}
