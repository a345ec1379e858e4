package pluginv1

// The rules of a declared read (Op.get), in one place for both sides: the
// SDK's handler of such an op and the engine, when it sends the op's GET
// itself with the connection's ReadSession, fill the path and read the
// answer with these functions, so the two can never disagree on what a
// call sends or returns.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// CheckGet reports whether template is a valid declared read for an op
// with these parameters: a path starting with '/', each {name} one of the
// parameters, and every parameter in it exactly once (a GET has no body,
// so an argument left out of the path would be silently dropped).
func CheckGet(template string, params []string) error {
	if !strings.HasPrefix(template, "/") {
		return fmt.Errorf("get %q: want a path starting with '/', like \"/api/realms/{realm_id}\"", template)
	}
	seen := map[string]int{}
	for _, m := range pathParam.FindAllStringSubmatch(template, -1) {
		seen[m[1]]++
	}
	known := map[string]bool{}
	for _, p := range params {
		known[p] = true
		switch seen[p] {
		case 0:
			return fmt.Errorf("get %q: parameter %s is not in the path (a GET sends nothing else): add {%s}, or write a handler", template, p, p)
		case 1:
		default:
			return fmt.Errorf("get %q: {%s} appears %d times", template, p, seen[p])
		}
	}
	for name := range seen {
		if !known[name] {
			return fmt.Errorf("get %q: {%s} names no parameter of the op", template, name)
		}
	}
	if strings.ContainsAny(pathParam.ReplaceAllString(template, ""), "{} ") {
		return fmt.Errorf("get %q: a '{' or '}' that is not a {parameter}, or a space", template)
	}
	return nil
}

// FillPath replaces each {name} of template with the argument of that name
// in argsJSON (the call's args_json): a string as it is, a number or a bool
// as JSON writes it; path-escaped, or query-escaped after the '?'.
func FillPath(template string, argsJSON []byte) (string, error) {
	if !strings.Contains(template, "{") {
		return template, nil
	}
	var args map[string]json.RawMessage
	if len(bytes.TrimSpace(argsJSON)) > 0 {
		if err := json.Unmarshal(argsJSON, &args); err != nil {
			return "", fmt.Errorf("arguments are not a JSON object: %v", err)
		}
	}
	query := strings.IndexByte(template, '?')
	var b strings.Builder
	last := 0
	for _, loc := range pathParam.FindAllStringSubmatchIndex(template, -1) {
		name := template[loc[2]:loc[3]]
		s, err := pathValue(args[name])
		if err != nil {
			return "", fmt.Errorf("argument %s of %s: %v", name, template, err)
		}
		b.WriteString(template[last:loc[0]])
		if query >= 0 && loc[0] > query {
			b.WriteString(url.QueryEscape(s))
		} else {
			b.WriteString(url.PathEscape(s))
		}
		last = loc[1]
	}
	b.WriteString(template[last:])
	return b.String(), nil
}

func pathValue(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", fmt.Errorf("no value")
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case raw[0] == '{' || raw[0] == '[':
		return "", fmt.Errorf("a list or an object cannot go in a path")
	}
	if string(raw) == "true" || string(raw) == "false" {
		return string(raw), nil
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
		return "", fmt.Errorf("%s is not a JSON value", raw)
	}
	return string(raw), nil
}

// ProjectAnswer reads a declared read's 2xx answer, a JSON object, into
// the op's result: each result field takes the member its wire names (its
// own name when empty; dots descend into nested objects), copied as it is.
// A member that is absent or null is left out (the flow sees None); the
// engine checks the values against the declared types as it checks any
// plugin's result.
func ProjectAnswer(body []byte, results []*Field) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, fmt.Errorf("the answer is not a JSON object")
	}
	out := make([]byte, 0, len(body))
	out = append(out, '{')
	for _, f := range results {
		path := f.Wire
		if path == "" {
			path = f.Name
		}
		raw := member(top, path)
		if raw == nil {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, f.Name)
		out = append(out, ':')
		out = append(out, raw...)
	}
	return append(out, '}'), nil
}

// member is the value at a dotted path of obj; nil when absent or null.
func member(obj map[string]json.RawMessage, path string) json.RawMessage {
	for {
		name, rest, nested := strings.Cut(path, ".")
		raw := bytes.TrimSpace(obj[name])
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		if !nested {
			return raw
		}
		obj = nil
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		path = rest
	}
}
