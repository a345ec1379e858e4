package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ReadOp declares a Read op from a typed handler: its params are derived from
// the fields of Args and its result fields from those of Result, so the
// schema and the code that uses it cannot drift apart.
//
//	type findArgs struct {
//		Name string `json:"name" sdk:"required" doc:"the token's name"`
//	}
//	type found struct {
//		IDs []string `json:"ids"`
//	}
//	sdk.ReadOp("find_token", "Find the tokens of a name", func(ctx context.Context, c *sdk.Call, a findArgs) (found, error) {...})
//
// Args and Result are structs or pointers to structs (struct{} for none). Each exported field is one
// schema field, named by its json tag (required: the flows' snake_case name,
// also the key the handler's JSON uses). Its Type follows the Go type:
// string String, bool Bool, integers Int, floats Float, time.Time Timestamp,
// time.Duration Duration, slices List (Elem from the element type), maps and
// structs Object; a pointer is its element, absent when nil. The `sdk` tag
// adds comma-separated options: required, secret (the Type becomes Secret),
// endpoint, default=VALUE (parsed as the field's type; keep it last, it may
// hold commas). The `doc` tag is the field's Doc. Fields tagged json:"-" and
// embedded structs' own fields follow encoding/json's rules.
//
// The handler gets the arguments decoded (defaults applied by the engine) and
// its result is sent with timestamps as RFC 3339, durations as Go duration
// strings and a zero time.Time or nil pointer as absent. A declaration the
// SDK cannot derive (a field of type any, a missing json tag) is reported by
// Plugin.Validate, which Serve and sdktest call.
//
// Set Reconcile on the returned Op as on any other.
func ReadOp[Args, Result any](name, doc string, fn func(ctx context.Context, c *Call, a Args) (Result, error)) Op {
	return typedOp(name, doc, Read, fn)
}

// WriteOp is ReadOp for an op that changes vendor state (Effect Write).
func WriteOp[Args, Result any](name, doc string, fn func(ctx context.Context, c *Call, a Args) (Result, error)) Op {
	return typedOp(name, doc, Write, fn)
}

func typedOp[Args, Result any](name, doc string, effect Effect, fn func(context.Context, *Call, Args) (Result, error)) Op {
	op := Op{Name: name, Doc: doc, Effect: effect}
	var err error
	if fn == nil {
		op.declErr = fmt.Errorf("op %q has no handler: pass its func (or an sdk.Route)", name)
	} else if op.Params, err = FieldsOf[Args](); err != nil {
		op.declErr = fmt.Errorf("op %q params: %w", name, err)
	} else if op.Results, err = FieldsOf[Result](); err != nil {
		op.declErr = fmt.Errorf("op %q results: %w", name, err)
	}
	op.Handler = func(ctx context.Context, c *Call) (any, error) {
		var a Args
		if err := decodeArgs(c.Args, &a); err != nil {
			return nil, err
		}
		r, err := fn(ctx, c, a)
		if err != nil {
			return nil, err
		}
		return encodeResult(reflect.ValueOf(r)), nil
	}
	return op
}

// FieldsOf derives schema fields from the struct T as ReadOp does: for a
// connection schema, or for params an untyped Handler decodes with
// Values.Decode.
func FieldsOf[T any]() ([]Field, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct: declare a struct with one json-tagged field per schema field", t)
	}
	fields := []Field{}
	for _, sf := range structFields(t) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" {
			return nil, fmt.Errorf("%s.%s has no json tag: add `json:\"snake_name\"` (the name flows use)", t, sf.Name)
		}
		typ, elem, ok := typeOf(sf.Type)
		if !ok {
			return nil, fmt.Errorf("%s.%s: Go type %s has no schema type: use a string, number, bool, time, slice, map or struct", t, sf.Name, sf.Type)
		}
		f := Field{Name: name, Type: typ, Elem: elem, Doc: sf.Tag.Get("doc")}
		opts := sf.Tag.Get("sdk")
		for opts != "" {
			var opt string
			if strings.HasPrefix(opts, "default=") {
				opt, opts = opts, ""
			} else {
				opt, opts, _ = strings.Cut(opts, ",")
			}
			switch o := strings.TrimSpace(opt); {
			case o == "required":
				f.Required = true
			case o == "secret":
				if f.Type != String {
					return nil, fmt.Errorf("%s.%s: only a string can be secret", t, sf.Name)
				}
				f.Type = Secret
			case o == "endpoint":
				f.Endpoint = true
			case strings.HasPrefix(o, "default="):
				d, err := parseDefault(f.Type, strings.TrimPrefix(o, "default="))
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
				}
				f.Default = d
			default:
				return nil, fmt.Errorf("%s.%s: unknown sdk tag option %q (have required, secret, endpoint, default=VALUE)", t, sf.Name, o)
			}
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// structFields are t's fields as encoding/json sees them: exported, not
// json:"-", embedded structs flattened.
func structFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for _, sf := range reflect.VisibleFields(t) {
		embedded := sf.Type
		if embedded.Kind() == reflect.Pointer {
			embedded = embedded.Elem()
		}
		if sf.Anonymous && embedded.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
			continue // its fields are visible on their own
		}
		if !sf.IsExported() || sf.Tag.Get("json") == "-" {
			continue
		}
		out = append(out, sf)
	}
	return out
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

func typeOf(t reflect.Type) (typ, elem Type, ok bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return Timestamp, 0, true
	case t == durationType:
		return Duration, 0, true
	}
	switch t.Kind() {
	case reflect.String:
		return String, 0, true
	case reflect.Bool:
		return Bool, 0, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int, 0, true
	case reflect.Float32, reflect.Float64:
		return Float, 0, true
	case reflect.Slice, reflect.Array:
		e, _, _ := typeOf(t.Elem()) // an element of no schema type is any
		return List, e, true
	case reflect.Map, reflect.Struct:
		return Object, 0, true
	}
	return 0, 0, false
}

func parseDefault(t Type, s string) (any, error) {
	var v any
	var err error
	switch t {
	case String, Secret, Timestamp:
		v = s
	case Duration:
		_, err = time.ParseDuration(s)
		v = s
	case Int:
		v, err = strconv.ParseInt(s, 10, 64)
	case Float:
		v, err = strconv.ParseFloat(s, 64)
	case Bool:
		v, err = strconv.ParseBool(s)
	default:
		return nil, fmt.Errorf("a %s field cannot have a default in a tag", t)
	}
	if err != nil {
		return nil, fmt.Errorf("default %q is not a %s", s, t)
	}
	return v, nil
}

// decodeArgs fills dst from the call's arguments. The engine checked them
// against the schema derived from dst's type, so a failure here is the
// plugin's own (a hand-edited Params), reported as an internal error.
func decodeArgs(args Values, dst any) error {
	t := reflect.TypeOf(dst).Elem()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	in := make(map[string]any, len(args))
	for k, x := range args {
		in[k] = x
	}
	// encoding/json reads a time.Duration as nanoseconds; flows send "1h30m".
	for _, sf := range structFields(t) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		s, isString := in[name].(string)
		if t := sf.Type; (t == durationType || t.Kind() == reflect.Pointer && t.Elem() == durationType) && isString {
			d, err := time.ParseDuration(s)
			if err != nil {
				return InvalidArgument(name, "%q is not a duration (like 90m or 720h)", s)
			}
			in[name] = int64(d)
		}
	}
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, dst)
	}
	if err != nil {
		return Errorf(CodeInternal, "decode the arguments into %s: %v (do the op's Params match its args type?)", t, err)
	}
	return nil
}

// encodeResult turns a result struct into the map the engine reads, writing
// times and durations the way the schema types them.
func encodeResult(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return map[string]any{}
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return v.Interface()
	}
	out := map[string]any{}
	for _, sf := range structFields(v.Type()) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		f, err := v.FieldByIndexErr(sf.Index)
		if err != nil { // behind a nil embedded pointer: absent
			continue
		}
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		switch x := f.Interface().(type) {
		case time.Time:
			if !x.IsZero() {
				out[name] = x.Format(time.RFC3339Nano)
			}
		case time.Duration:
			out[name] = x.String()
		default:
			out[name] = x
		}
	}
	return out
}
