package sim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// These tests sign requests with their own few lines, written from
// vendors.md, not with the plugin's code.

func newSim(t *testing.T) *sim.Sim {
	t.Helper()
	return sim.New(sim.Config{Clock: simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))})
}

func message(method, path string, p url.Values) string {
	var pairs []string
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), p[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, k+"="+v)
		}
	}
	return method + path + strings.Join(pairs, "&")
}

func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signedRequest builds a request signed with key for email (email is added).
func signedRequest(method, path, email, key string, p url.Values) *http.Request {
	q := url.Values{}
	for k, v := range p {
		q[k] = v
	}
	q.Set("email", email)
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, path, strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path+"?"+q.Encode(), nil)
	}
	req.Header.Set("X-Auth-Signature", hmacB64(key, message(method, path, q)))
	return req
}

type answer struct {
	status int
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func serve(s *sim.Sim, req *http.Request) answer {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return answer{rec.Code, body}
}

// do sends a request signed as the default user and wants status.
func do(t *testing.T, s *sim.Sim, method, path string, p url.Values, status int) answer {
	t.Helper()
	a := serve(s, signedRequest(method, path, sim.DefaultEmail, sim.DefaultKey, p))
	if a.status != status {
		t.Fatalf("%s %s: status %d (%s), want %d", method, path, a.status, a.body, status)
	}
	return a
}

func manifest(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
