package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Call is what a handler gets: the connection, the arguments, an HTTP client
// that goes through the host, and the connection's session cache.
type Call struct {
	Op     string
	Conn   Values // connection fields, defaults applied, secrets revealed
	Args   Values // op arguments, defaults applied, secrets revealed
	DryRun bool
	// HTTP sends requests through the engine's host transport. Use it for
	// every request; there is no other way out.
	HTTP   *http.Client
	Logger hclog.Logger

	session *Session
}

// Session is a per-connection cache that lives as long as the plugin process
// serves the connection: the place for a login token.
func (c *Call) Session() *Session { return c.session }

// Session holds values a plugin caches for one connection.
type Session struct {
	mu     sync.Mutex
	values map[string]any
	// flight serialises logins, so concurrent calls never start a login storm.
	flight sync.Mutex
}

// Get returns a cached value.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

// Set caches a value.
func (s *Session) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]any{}
	}
	s.values[key] = v
}

// Delete drops a cached value (for example a token the vendor rejected).
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, key)
}

// Once runs login when key is not cached yet and caches its result. Calls for
// the same session wait for one another, so one login serves them all.
func (s *Session) Once(key string, login func() (any, error)) (any, error) {
	if v, ok := s.Get(key); ok {
		return v, nil
	}
	s.flight.Lock()
	defer s.flight.Unlock()
	if v, ok := s.Get(key); ok {
		return v, nil
	}
	v, err := login()
	if err != nil {
		return nil, err
	}
	s.Set(key, v)
	return v, nil
}

// Values are the decoded JSON fields of a connection or of an op's
// arguments. The engine has checked them against the schema, so the typed
// accessors only fail on a plugin's own mistakes; they return the zero value
// for an absent optional field.
type Values map[string]any

// Has reports whether the field is present.
func (v Values) Has(name string) bool { _, ok := v[name]; return ok }

// String returns a string (or secret) field.
func (v Values) String(name string) string {
	s, _ := v[name].(string)
	return s
}

// Int returns an int field.
func (v Values) Int(name string) int64 {
	switch n := v[name].(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// Float returns a float field.
func (v Values) Float(name string) float64 {
	switch n := v[name].(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return 0
}

// Bool returns a bool field.
func (v Values) Bool(name string) bool { b, _ := v[name].(bool); return b }

// Time returns a timestamp field.
func (v Values) Time(name string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v.String(name))
	return t
}

// Duration returns a duration field.
func (v Values) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(v.String(name))
	return d
}

// List returns a list field.
func (v Values) List(name string) []any { l, _ := v[name].([]any); return l }

// Object returns an object field.
func (v Values) Object(name string) map[string]any { o, _ := v[name].(map[string]any); return o }

// Decode fills dst (a pointer to a struct with json tags) from the values.
func (v Values) Decode(dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// checkArgs verifies args against the op's params: the engine does the same
// before calling, this guards plugins driven by other hosts (sdktest).
func checkArgs(fields []Field, args Values) error {
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
		val, ok := args[f.Name]
		if !ok || val == nil {
			if f.Required {
				return InvalidArgument(f.Name, "missing required argument")
			}
			continue
		}
		if !typeMatches(f.Type, val) {
			return InvalidArgument(f.Name, "got %T, want %s", val, f.Type)
		}
	}
	for name := range args {
		if !known[name] {
			return InvalidArgument(name, "unknown argument")
		}
	}
	return nil
}

func typeMatches(t Type, val any) bool {
	switch t {
	case String, Secret, Timestamp, Duration:
		_, ok := val.(string)
		return ok
	case Int:
		n, ok := val.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case Float:
		_, ok := val.(json.Number)
		return ok
	case Bool:
		_, ok := val.(bool)
		return ok
	case List:
		_, ok := val.([]any)
		return ok
	case Object:
		_, ok := val.(map[string]any)
		return ok
	}
	return false
}

func decodeValues(b []byte) (Values, error) {
	v := Values{}
	if len(b) == 0 {
		return v, nil
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode values: %w", err)
	}
	return v, nil
}
