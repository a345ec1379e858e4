// Package sign computes the HMAC signature that Timesys Vigiles / LinuxLink
// requires on every request (vendors.md section 3, verified byte for byte
// against timesys-api-toolkit's core/llapi.py).
//
// The signed message is the upper-case method, the resource path (no host,
// no query) and an argument string, concatenated with no separator. The
// argument string lists the parameters sorted by name, a repeated
// parameter's values sorted too, as name=value pairs joined by "&" with the
// values raw (what Python's unquote_plus(urlencode(sorted(...), doseq=True))
// yields). The signature is HMAC-SHA256 of the UTF-8 message keyed by the
// key-file key's UTF-8 bytes, in standard base64 with padding, sent in the
// X-Auth-Signature header.
//
// On the wire, parameters travel in the query (sorted by name, a repeated
// parameter's values in their given order) for every method but POST, and
// as an application/x-www-form-urlencoded body for POST.
package sign

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Header is the header that carries the signature.
const Header = "X-Auth-Signature"

// Bool is how Vigiles spells a boolean parameter: Python's str(True).
func Bool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// Message returns the string that is signed for a request. params must
// already hold the email (see NewRequest).
func Message(method, path string, params url.Values) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteString(path)
	first := true
	for _, name := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[name])) {
			if !first {
				b.WriteByte('&')
			}
			first = false
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// Signature returns the base64 HMAC-SHA256 of msg keyed by key.
func Signature(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Check reports parameters the server could not read back the way they were
// signed: an empty name, or a name or value that is not valid UTF-8 (the
// server decodes the wire form as UTF-8, so the message it rebuilds would
// differ). The error names the parameter, never its value.
func Check(params url.Values) error {
	for name, vs := range params {
		if name == "" {
			return fmt.Errorf("a parameter has an empty name")
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("parameter name %q is not valid UTF-8", name)
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return fmt.Errorf("parameter %s: value is not valid UTF-8", name)
			}
		}
	}
	return nil
}

// Request is a signed request before it is sent.
type Request struct {
	*http.Request
	// Message is what was signed (the hmac_msg of the toolkit's dry run).
	Message string
}

// NewRequest builds a signed request for path (a resource path such as
// "/api/v1/heartbeat", unescaped) under baseURL. email is added to params
// (replacing any email given), params is not modified.
func NewRequest(ctx context.Context, method, baseURL, path, email, key string, params url.Values) (*Request, error) {
	method = strings.ToUpper(method)
	p := url.Values{}
	for name, vs := range params {
		p[name] = slices.Clone(vs)
	}
	p.Set("email", email)
	if err := Check(p); err != nil {
		return nil, err
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want scheme://host", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = ""
	u.Fragment = ""
	var body io.Reader = http.NoBody
	encoded := p.Encode() // sorted by name; values in their given order
	if method == http.MethodPost {
		body = bytes.NewReader([]byte(encoded))
	} else {
		u.RawQuery = encoded
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	msg := Message(method, path, p)
	req.Header.Set(Header, Signature(key, msg))
	return &Request{Request: req, Message: msg}, nil
}
