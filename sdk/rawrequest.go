package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Generic request ops: every plugin can offer "get" and "request", an
// authenticated request to any path of its vendor's API, for what no typed
// op covers yet. They are two ops because an op's effect is declared once,
// in its schema: "get" (GET or HEAD) is a read, so a dry-run sends it and
// the flow sees its answer; "request" (POST, PUT, PATCH, DELETE) is a write,
// so a dry-run holds it and shows it in the plan. One write op whose GETs a
// dry-run still sent would hand the flow unknown results for a plain read.

// RawRequest is one generic request, checked: Method upper case, Path
// starting with "/" and free of "..", a query and "?" and "#".
type RawRequest struct {
	Method string
	Path   string
	Query  url.Values
	// Body is the JSON object to send (nil: no body).
	Body map[string]any
}

// PathQuery is Path with the encoded query, for plugins that build URLs
// from one string.
func (r RawRequest) PathQuery() string {
	if len(r.Query) == 0 {
		return r.Path
	}
	return r.Path + "?" + r.Query.Encode()
}

// JSONBody is Body encoded (nil when there is none).
func (r RawRequest) JSONBody() ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := json.Marshal(r.Body)
	if err != nil {
		return nil, InvalidArgument("body", "cannot encode as JSON: %v", err)
	}
	return b, nil
}

// RequestSpec is what a plugin supplies for its generic request ops.
type RequestSpec struct {
	// Vendor names the API in docs: "Acme REST API".
	Vendor string
	// PathDoc says what path is relative to: "the URL's root, e.g. /api/v1/items".
	PathDoc string
	// Params are extra parameters the vendor's authentication needs (an
	// access token the connection does not hold); most plugins authenticate with the
	// connection and need none.
	Params []Field
	// Send sends r with the connection's authentication, exactly as the
	// plugin's typed ops do (log in once, re-login on an expired session),
	// and returns the vendor's answer whatever its status.
	Send func(ctx context.Context, c *Call, r RawRequest) (*http.Response, []byte, error)
}

// GetOp is the generic read: get(path, query = {}, method = "GET", expect = []).
func GetOp(s RequestSpec) Op {
	return Op{
		Name:   "get",
		Doc:    "Send an authenticated GET (or HEAD) to any path of the " + s.Vendor + " API; a read, sent in a dry-run too",
		Effect: Read,
		Params: append([]Field{
			{Name: "path", Type: String, Required: true, Doc: "path from " + s.PathDoc + "; no query or fragment"},
			{Name: "query", Type: Object, Doc: "query parameters: a dict of strings, numbers, bools or lists of them"},
			{Name: "method", Type: String, Default: "GET", Doc: "GET or HEAD"},
			{Name: "expect", Type: List, Elem: Int, Doc: "statuses that count as success (default: any 2xx); any other is an error"},
		}, s.Params...),
		Results: rawResults,
		Handler: func(ctx context.Context, c *Call) (any, error) {
			m := strings.ToUpper(c.Args.String("method"))
			if m == "" {
				m = http.MethodGet
			}
			if m != http.MethodGet && m != http.MethodHead {
				return nil, InvalidArgument("method", "get sends GET or HEAD; %s changes the vendor: use request(method = %q, ...), which a dry-run holds", m, m)
			}
			return rawCall(ctx, c, s, m)
		},
	}
}

// RequestOp is the generic write: request(method, path, query = {}, body = None, expect = []).
func RequestOp(s RequestSpec) Op {
	return Op{
		Name:   "request",
		Doc:    "Send an authenticated POST, PUT, PATCH or DELETE to any path of the " + s.Vendor + " API; a write, held in a dry-run",
		Effect: Write,
		Params: append([]Field{
			{Name: "method", Type: String, Required: true, Doc: "POST, PUT, PATCH or DELETE (GET and HEAD: use get, a read)"},
			{Name: "path", Type: String, Required: true, Doc: "path from " + s.PathDoc + "; no query or fragment"},
			{Name: "query", Type: Object, Doc: "query parameters: a dict of strings, numbers, bools or lists of them"},
			{Name: "body", Type: Object, Doc: "JSON object to send as the body"},
			{Name: "expect", Type: List, Elem: Int, Doc: "statuses that count as success (default: any 2xx); any other is an error"},
		}, s.Params...),
		Results: rawResults,
		Handler: func(ctx context.Context, c *Call) (any, error) {
			m := strings.ToUpper(c.Args.String("method"))
			switch m {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			case http.MethodGet, http.MethodHead:
				return nil, InvalidArgument("method", "%s is a read: use get(path, ...), which a dry-run sends and whose answer the flow sees", m)
			default:
				return nil, InvalidArgument("method", "%q: want POST, PUT, PATCH or DELETE", c.Args.String("method"))
			}
			return rawCall(ctx, c, s, m)
		},
	}
}

var rawResults = []Field{
	{Name: "status", Type: Int, Doc: "HTTP status"},
	{Name: "headers", Type: Object, Doc: "response headers by canonical name, values joined with \", \"; credential headers (cookies, tokens) read \"***\""},
	{Name: "body", Type: Object, Doc: "the body decoded when it is JSON (a struct, list or scalar), else its text; None when empty"},
}

func rawCall(ctx context.Context, c *Call, s RequestSpec, method string) (any, error) {
	r, err := rawRequestFrom(c, method)
	if err != nil {
		return nil, err
	}
	expect, err := expected(c)
	if err != nil {
		return nil, err
	}
	resp, data, err := s.Send(ctx, c, r)
	if err != nil {
		return nil, err
	}
	what := method + " " + r.Path
	if !statusExpected(resp.StatusCode, expect) {
		return nil, FromResponse(what, resp, data)
	}
	return map[string]any{"status": resp.StatusCode, "headers": RawHeaders(resp.Header), "body": rawBody(data)}, nil
}

func rawRequestFrom(c *Call, method string) (RawRequest, error) {
	p := c.Args.String("path")
	switch {
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		return RawRequest{}, InvalidArgument("path", "%q: want a path starting with one \"/\", such as %s", p, "/api/...")
	case strings.ContainsAny(p, "?#"):
		return RawRequest{}, InvalidArgument("path", "%q: put the query in query = {...}, not in the path", p)
	case strings.ContainsFunc(p, func(r rune) bool { return r <= 0x20 || r == 0x7f }):
		return RawRequest{}, InvalidArgument("path", "holds spaces or control characters; escape them")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return RawRequest{}, InvalidArgument("path", "%q: no . or .. segments", p)
		}
	}
	q := url.Values{}
	for k, v := range c.Args.Object("query") {
		vals, ok := queryValues(v)
		if !ok {
			return RawRequest{}, InvalidArgument("query", "%s: want a string, number, bool or a list of them, got %T", k, v)
		}
		q[k] = vals
	}
	return RawRequest{Method: method, Path: p, Query: q, Body: c.Args.Object("body")}, nil
}

func queryValues(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case bool, json.Number, float64, int64:
		return []string{fmt.Sprint(x)}, true
	case []any:
		var out []string
		for _, e := range x {
			s, ok := queryValues(e)
			if !ok || len(s) != 1 {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	}
	return nil, false
}

func expected(c *Call) ([]int, error) {
	var out []int
	for _, v := range c.Args.List("expect") {
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < 100 || i > 599 {
			return nil, InvalidArgument("expect", "want HTTP statuses (100-599), got %v", v)
		}
		out = append(out, int(i))
	}
	return out, nil
}

func statusExpected(code int, expect []int) bool {
	if len(expect) == 0 {
		return code >= 200 && code < 300
	}
	for _, e := range expect {
		if e == code {
			return true
		}
	}
	return false
}

// credentialHeaders are response headers whose values are credentials in
// some vendor's API; names holding one of credentialWords are too.
var credentialHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"Www-Authenticate": false,
}

var credentialWords = []string{"token", "auth", "key", "secret", "session", "cookie", "password", "signature"}

// RawHeaders returns h for a result: one string per header, and "***" for
// the value of a header that may carry a credential (the engine masks known
// secrets anyway; this keeps ones it never saw out of the flow's hands).
func RawHeaders(h http.Header) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cn := http.CanonicalHeaderKey(n)
		out[cn] = strings.Join(h[n], ", ")
		if sensitive, listed := credentialHeaders[cn]; listed {
			if sensitive {
				out[cn] = "***"
			}
			continue
		}
		low := strings.ToLower(cn)
		for _, w := range credentialWords {
			if strings.Contains(low, w) {
				out[cn] = "***"
				break
			}
		}
	}
	return out
}

// rawBody decodes a JSON body, else returns its text; nil when empty.
func rawBody(data []byte) any {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		return v
	}
	return string(data)
}
