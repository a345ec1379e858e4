package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
)

// JSONAPI is a JSON API a plugin reaches: BearerJSON, or a plugin's own type
// with the same Do (another auth scheme).
type JSONAPI interface {
	Do(ctx context.Context, c *Call, method, path string, body, out any) error
}

var _ JSONAPI = BearerJSON{}

// JSON sends one request through api (body encoded as JSON, nil for none)
// and decodes the 2xx answer into an R: a handler's whole exchange in one
// line.
//
//	return sdk.JSON[issued](ctx, c, api, http.MethodPost, a.path(), body)
func JSON[R any](ctx context.Context, c *Call, api JSONAPI, method, path string, body any) (R, error) {
	var out R
	err := api.Do(ctx, c, method, path, body, &out)
	return out, err
}

var routeParam = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// Route returns the handler of an op that is one request and nothing else,
// for ReadOp and WriteOp:
//
//	sdk.WriteOp("create_service_account", "Create a service account",
//		sdk.Route[accountArgs, account](api, "POST /api/serviceaccounts"))
//
// route is "METHOD /path". Each {name} in it is replaced by the argument of
// that (json) name, path-escaped, or query-escaped after the '?'. The other
// arguments are the JSON body, except for GET, HEAD and DELETE, which send
// none. The answer is decoded into Result; an answer that is a JSON array
// fills Result's one field (for vendors that answer a bare list). A field
// tagged `wire:"vendorName"`, in Args or Result, has that name in the body
// and the answer, where the vendor's spelling differs from the flow's
// snake_case. Durations travel as encoding/json writes them (nanoseconds):
// declare the vendor's unit instead (an int of seconds).
func Route[Args, Result any](api JSONAPI, route string) func(context.Context, *Call, Args) (Result, error) {
	method, path, ok := strings.Cut(route, " ")
	toWire, fromWire := wireNames[Args](false), wireNames[Result](true)
	return func(ctx context.Context, c *Call, a Args) (Result, error) {
		var zero Result
		if !ok || !strings.HasPrefix(path, "/") {
			return zero, Errorf(CodeInternal, "route %q: want \"METHOD /path\", like \"POST /api/tokens\"", route)
		}
		args, err := toMap(a)
		if err != nil {
			return zero, Errorf(CodeInternal, "route %s takes a struct of arguments: %v", route, err)
		}
		var missing string
		query := strings.Index(path, "?")
		filled := routeParam.ReplaceAllStringFunc(path, func(m string) string {
			name := m[1 : len(m)-1]
			v, ok := args[name]
			if !ok {
				missing = name
				return m
			}
			delete(args, name)
			s, isString := v.(string)
			if !isString {
				s = strings.Trim(string(mustJSON(v)), `"`)
			}
			if query >= 0 && strings.Index(path, m) > query {
				return url.QueryEscape(s)
			}
			return url.PathEscape(s)
		})
		if missing != "" {
			return zero, Errorf(CodeInternal, "route %s: {%s} names no argument (the json names of the args type)", route, missing)
		}
		var body any
		if method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete {
			body = rename(args, toWire)
		}
		raw, err := JSON[json.RawMessage](ctx, c, api, method, filled, body)
		if err != nil || len(bytes.TrimSpace(raw)) == 0 {
			return zero, err
		}
		if raw, err = answerFor(raw, fromWire); err == nil {
			err = json.Unmarshal(raw, &zero)
		}
		if err != nil {
			return zero, Errorf(CodeInternal, "decode the answer to %s into %T: %v (does the result type match the API?)", route, zero, err)
		}
		return zero, nil
	}
}

// wire maps names for one struct type: json name to wire name (fromWire
// false) or back; single is the json name of its only field, if it has one.
type wire struct {
	names  map[string]string
	single string
}

func wireNames[T any](fromWire bool) wire {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	w := wire{names: map[string]string{}}
	if t.Kind() != reflect.Struct {
		return w
	}
	fields := structFields(t)
	for _, sf := range fields {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if wn := sf.Tag.Get("wire"); wn != "" && fromWire {
			w.names[wn] = name
		} else if wn != "" {
			w.names[name] = wn
		}
		if len(fields) == 1 {
			w.single = name
		}
	}
	return w
}

func rename(m map[string]any, w wire) map[string]any {
	for from, to := range w.names {
		if v, ok := m[from]; ok {
			delete(m, from)
			m[to] = v
		}
	}
	return m
}

// answerFor rewrites a vendor's answer into the JSON of the result type:
// wire names to json names, a bare array into the single field.
func answerFor(raw json.RawMessage, w wire) (json.RawMessage, error) {
	if raw = bytes.TrimSpace(raw); raw[0] == '[' && w.single != "" {
		return json.Marshal(map[string]json.RawMessage{w.single: raw})
	}
	if raw[0] != '{' || len(w.names) == 0 {
		return raw, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return json.Marshal(rename(m, w))
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // an int64 id stays exact in a path
	return m, dec.Decode(&m)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // v came out of json.Unmarshal: it encodes
	return b
}
