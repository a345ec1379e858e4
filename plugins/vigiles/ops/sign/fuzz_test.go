package sign_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
)

// FuzzSignVerify checks that the simulator, which rebuilds the message with
// its own code from the parameters it parses, accepts every request this
// package signs, and rejects it once the signature or the parameters change.
// The seed corpus runs with plain go test; go test -fuzz=FuzzSignVerify
// explores further.
func FuzzSignVerify(f *testing.F) {
	f.Add(uint8(0), "folder_token", "X", "with_field", "references", "assigner", true)
	f.Add(uint8(1), "name", "My Product", "desc", "a + b & c = d", "", false)
	f.Add(uint8(2), "confirmed", "True", "k", "b", "a", true)
	f.Add(uint8(0), "x", "100%", "y", "a=b&c=d", "%41", false)
	f.Add(uint8(1), "manifest_name", "Büro-Image ☃ 日本", "manifest", `{"packages": {"zlib": {"version": "1.2.11"}}}`, "", true)
	f.Add(uint8(0), "v", "", "f", "", " ", false)
	f.Add(uint8(1), "email", "someone@else.example", "z", "line1\nline2\ttab\r\x00", "+", true)
	f.Add(uint8(2), "k", "same", "k", "same", "Same", false)
	f.Add(uint8(0), "ключ", "значение", "🔑", "💥", "é", true)
	f.Fuzz(func(t *testing.T, m uint8, k1, v1, k2, v2a, v2b string, flag bool) {
		method, path := http.MethodGet, "/api/v1/vigiles/products"
		switch m % 3 {
		case 1:
			method, path = http.MethodPost, "/api/v1/heartbeat"
		case 2:
			method, path = http.MethodDelete, "/api/v1/vigiles/manifests/0123456789abcdef"
		}
		params := url.Values{}
		params.Add(k1, v1)
		params.Add(k2, v2a)
		params.Add(k2, v2b)
		params.Set("flag", sign.Bool(flag))
		s := sim.New(sim.Config{})
		req, err := sign.NewRequest(context.Background(), method, "http://vigiles.test", path, sim.DefaultEmail, sim.DefaultKey, params)
		if err != nil {
			if sign.Check(params) == nil {
				t.Fatalf("NewRequest failed on parameters Check accepts: %v", err)
			}
			return // the plugin refuses what the server could not read back
		}
		if st := serve(t, s, req.Request, req.Header.Get(sign.Header), ""); st == http.StatusForbidden {
			t.Fatalf("simulator rejected a signed %s %s\nmessage %q", method, path, req.Message)
		}
		sig := []byte(req.Header.Get(sign.Header))
		sig[int(m)%len(sig)] ^= 0x01
		if st := serve(t, s, req.Request, string(sig), ""); st != http.StatusForbidden {
			t.Fatalf("simulator accepted a changed signature: %d", st)
		}
		if st := serve(t, s, req.Request, req.Header.Get(sign.Header), "&tampered=1"); st != http.StatusForbidden {
			t.Fatalf("simulator accepted an added parameter: %d", st)
		}
	})
}

// serve replays a client request to the simulator's handler with the given
// signature, optionally appending raw text to the parameters.
func serve(t *testing.T, s *sim.Sim, req *http.Request, sig, extra string) int {
	t.Helper()
	var body string
	if req.GetBody != nil {
		rc, _ := req.GetBody()
		b, _ := io.ReadAll(rc)
		body = string(b)
	}
	target := req.URL.RequestURI()
	if req.Method == http.MethodPost {
		body += extra
	} else {
		target += extra
	}
	in := httptest.NewRequest(req.Method, target, strings.NewReader(body))
	in.Header = req.Header.Clone()
	in.Header.Set(sign.Header, sig)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, in)
	return rec.Code
}
