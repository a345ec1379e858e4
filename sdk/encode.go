package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// marshalResult is json.Marshal for a handler's result, byte for byte.
// Results are mostly maps, slices, strings and numbers built from a
// vendor's decoded JSON, sometimes thousands of objects; encoding/json
// walks them by reflection and sorts every map's keys through reflect
// values, which made encoding a bulk listing's result a large share of a
// plugin's CPU. The common dynamic types are written directly here;
// anything else (structs, custom marshalers) goes to encoding/json.
func marshalResult(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 1024), v, 0)
}

// maxDepth hands deeper values to encoding/json, which reports a cycle
// (a map holding itself) as an error where recursing here would overflow.
const maxDepth = 500

func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return appendStd(b, v)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendFloat(b, x, 64)
	case map[string]any:
		return appendMap(b, x, depth)
	case []any:
		return appendSlice(b, x, depth)
	case []map[string]any:
		return appendSlice(b, x, depth)
	case []string:
		return appendSlice(b, x, depth)
	case map[string]string:
		return appendMap(b, x, depth)
	}
	return appendStd(b, v)
}

func appendStd(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

func appendMap[V any](b []byte, m map[string]V, depth int) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if b, err = appendJSON(b, m[k], depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendSlice[V any](b []byte, s []V, depth int) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i, e := range s {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendJSON(b, e, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendString writes plain printable ASCII directly; a string with
// anything encoding/json escapes (quotes, backslashes, control and HTML
// characters, non-ASCII) is encoded by encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s) // a string always encodes
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat formats as encoding/json's float encoder does.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
