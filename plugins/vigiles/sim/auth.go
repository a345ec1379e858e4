package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader carries the request signature.
const SignatureHeader = "X-Auth-Signature"

// request is a verified request: its parameters and its user.
type request struct {
	*http.Request
	params url.Values
	email  string
}

// params returns the request's parameters where Vigiles reads them: the
// form body of a POST, the query of anything else.
func params(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	return url.ParseQuery(r.URL.RawQuery)
}

// signedMessage rebuilds, from the parameters the server received, the
// message the client must have signed: method, path, then every name=value
// pair ordered by name and value, joined by "&", nothing escaped.
func signedMessage(method, path string, p url.Values) string {
	type pair struct{ name, value string }
	var pairs []pair
	for name, values := range p {
		for _, v := range values {
			pairs = append(pairs, pair{name, v})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].name != pairs[j].name {
			return pairs[i].name < pairs[j].name
		}
		return pairs[i].value < pairs[j].value
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.name + "=" + p.value
	}
	return method + path + strings.Join(parts, "&")
}

func expectedSignature(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signed verifies a request's signature before h runs: 400 when the
// parameters cannot be read, 403 (as Vigiles answers invalid credentials)
// when the email is missing or unknown or the signature does not match.
func (s *Sim) signed(h func(http.ResponseWriter, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := params(r)
		if err != nil {
			fail(w, http.StatusBadRequest, "the request parameters cannot be parsed: "+err.Error())
			return
		}
		sig := r.Header.Get(SignatureHeader)
		email := p.Get("email")
		if sig == "" || email == "" {
			s.countFailure()
			fail(w, http.StatusForbidden, "Invalid credentials: the request needs an email parameter and an "+SignatureHeader+" header")
			return
		}
		s.st.mu.Lock()
		key, known := s.users[email]
		s.st.mu.Unlock()
		want := expectedSignature(key, signedMessage(r.Method, r.URL.Path, p))
		if !known || !hmac.Equal([]byte(sig), []byte(want)) {
			s.countFailure()
			fail(w, http.StatusForbidden, "Invalid credentials: the signature does not match")
			return
		}
		h(w, &request{Request: r, params: p, email: email})
	}
}

func (s *Sim) countFailure() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.sigFailures++
}
