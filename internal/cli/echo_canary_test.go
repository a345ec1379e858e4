package cli_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// echoEncodings are the ways a vendor echoes a credential back.
var echoEncodings = map[string]func(string) string{
	"raw":      func(s string) string { return s },
	"html":     html.EscapeString,
	"decimal":  func(s string) string { return eachRune(s, "&#%d;") },
	"hex":      func(s string) string { return eachRune(s, "&#x%x;") },
	"json":     func(s string) string { b, _ := json.Marshal(s); return unquote(b) },
	"uescape":  func(s string) string { return eachRune(s, `\u%04x`) },
	"twice":    func(s string) string { b, _ := json.Marshal(s); b, _ = json.Marshal(unquote(b)); return unquote(b) },
	"percent":  func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%3C", "%3c") },
	"base64":   func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"basic":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte("admin:" + s)) },
	"goquote":  func(s string) string { return unquote([]byte(strconv.QuoteToASCII(s))) },
	"jsonhtml": func(s string) string { b, _ := json.Marshal(html.EscapeString(s)); return unquote(b) },
}

// unquote drops the outer quotes an encoder adds, so every echo reads
// "you sent <form>".
func unquote(b []byte) string { return string(b[1 : len(b)-1]) }

func eachRune(s, format string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}

// TestEchoedPasswordNeverLeaks: a loopback vendor echoes the password it
// was sent, in each encoding, in a response the flow outputs and in an
// error body. Neither the error, the --json output, the log nor the
// cassette holds the password in any of the encodings.
func TestEchoedPasswordNeverLeaks(t *testing.T) {
	const password = "Cn<&>'ä-P4ss/w0rd"
	var mu sync.Mutex
	seen := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := echoEncodings[filepath.Base(r.URL.Path)]
		mu.Lock()
		defer mu.Unlock()
		if p, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			seen = p
		}
		if r.Method == http.MethodPost {
			var body struct{ Name string }
			json.NewDecoder(r.Body).Decode(&body)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "bad request: password %s is not allowed here\n", echoEncodings[body.Name](seen))
			return
		}
		if enc == nil {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "you sent %s", enc(seen))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("KIT_PASSWORD", password)
	t.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(dir, "state"))
	flow := filepath.Join(dir, "echo.star")
	os.WriteFile(flow, []byte(`k = connect("testkit", url = var("url"), password = secret("env:KIT_PASSWORD"))
r = k.fetch(url = var("url") + "/echo/" + var("enc"))
output("echo", r.body)
k.create(name = var("enc"))
`), 0o644)
	pluginDir := filepath.Dir(flowtest.Binary(t, "./internal/testkit", "tokenflow-plugin-testkit"))

	for name, enc := range echoEncodings {
		t.Run(name, func(t *testing.T) {
			cassette := filepath.Join(dir, name+".yaml")
			streams, out, errOut := cli.TestStreams()
			code := cli.Run(context.Background(), []string{"run", flow, "--json", "--allow-http", "--record", cassette,
				"--plugin-dir", pluginDir, "--var", "url=" + srv.URL, "--var", "enc=" + name}, streams)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the create fails)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			var j struct {
				Outputs map[string]string `json:"outputs"`
				Error   string            `json:"error"`
			}
			if err := json.Unmarshal(out.Bytes(), &j); err != nil {
				t.Fatalf("--json: %v\n%s", err, out)
			}
			masked := "***"
			if name == "basic" {
				masked = base64.StdEncoding.EncodeToString([]byte("admin:")) + "***" // the user name stays
			}
			if j.Outputs["echo"] != "you sent "+masked || !strings.Contains(j.Error, "bad request: password "+masked+" is not allowed here") {
				t.Errorf("the vendor's words were lost or not masked: output %q, error %q", j.Outputs["echo"], j.Error)
			}
			cas, err := os.ReadFile(cassette)
			if err != nil {
				t.Fatal(err)
			}
			for where, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String(), "cassette": string(cas), "error": j.Error, "output": j.Outputs["echo"]} {
				for _, f := range []string{password, enc(password)} {
					if strings.Contains(text, f) {
						t.Errorf("%s holds the password as %q:\n%s", where, f, text)
					}
				}
			}
			if !strings.Contains(string(cas), "__tokenflow_secret_1__ is not allowed here") {
				t.Errorf("the cassette does not hold the echo as a placeholder:\n%s", cas)
			}
			if !strings.Contains(errOut.String(), "http://") {
				t.Errorf("--allow-http ran without a warning; stderr:\n%s", errOut)
			}
		})
	}
}
