package schema

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// CheckResult checks an op's result object (decoded with json.Decoder's
// UseNumber) against the result fields the op declared. It is the one rule
// both the engine and sdktest apply, so a plugin that returns an int where
// it declared a timestamp fails its own tests rather than giving a flow a
// date in 1970. Undeclared fields pass unchecked; a null or absent field is
// None.
func CheckResult(obj map[string]any, fields []Field) error {
	for _, f := range fields {
		raw, ok := obj[f.Name]
		if !ok || raw == nil {
			continue
		}
		if err := CheckValue(raw, f); err != nil {
			return fmt.Errorf("result field %s: %w", f.Name, err)
		}
	}
	return nil
}

// CheckValue reports whether raw, a decoded JSON value, has field f's
// declared type on the wire: timestamps as RFC 3339 strings, durations as
// strings, ints as integral numbers, secrets as strings.
func CheckValue(raw any, f Field) error {
	if f.Secret || f.Type == Secret {
		if _, ok := raw.(string); !ok {
			return fmt.Errorf("secret field is %s, want string", jsonKind(raw))
		}
		return nil
	}
	return checkType(raw, f.Type, f.Elem)
}

func checkType(raw any, t, elem Type) error {
	want := t.String()
	switch t {
	case String:
		if _, ok := raw.(string); ok {
			return nil
		}
	case Int:
		if n, ok := raw.(json.Number); ok {
			if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
				return fmt.Errorf("%s is not an integer", n)
			}
			return nil
		}
	case Float:
		if _, ok := raw.(json.Number); ok {
			return nil
		}
	case Bool:
		if _, ok := raw.(bool); ok {
			return nil
		}
	case Timestamp:
		switch x := raw.(type) {
		case string:
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%q is not an RFC 3339 time", x)
			}
			return nil
		case json.Number:
			// An epoch number is ambiguous (seconds or milliseconds?);
			// guessing turned seconds into a date in 1970.
			return fmt.Errorf("got the number %s, want an RFC 3339 string (the plugin must convert epoch seconds or milliseconds itself)", x)
		}
	case Duration:
		if _, ok := raw.(string); ok {
			return nil
		}
		want = "duration string"
	case List:
		l, ok := raw.([]any)
		if !ok {
			break
		}
		if elem == 0 {
			return nil
		}
		for i, e := range l {
			if e == nil {
				continue
			}
			if err := checkType(e, elem, 0); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	case Object:
		if _, ok := raw.(map[string]any); ok {
			return nil
		}
	default:
		return nil
	}
	return fmt.Errorf("got %s, want %s", jsonKind(raw), want)
}

func jsonKind(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case json.Number, float64, int64:
		return "a number"
	case bool:
		return "a bool"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", raw)
}
