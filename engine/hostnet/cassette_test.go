package hostnet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/redact"
)

const tinyCassette = "---\nversion: 2\ninteractions: []\n"

func TestCassetteIntegrity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := (exactFS{}).WriteFile(path+".yaml", []byte(tinyCassette)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), integrityPrefix) || !strings.HasSuffix(string(data), tinyCassette) {
		t.Fatalf("saved cassette: %q", data)
	}
	if _, err := OpenCassette(path, Replay, redact.New()); err != nil {
		t.Fatalf("a cassette as saved: %v", err)
	}

	edited := strings.Replace(string(data), "interactions: []", "interactions: [ ]", 1)
	unhashed := tinyCassette
	for name, text := range map[string]string{"edited": edited, "unhashed": unhashed} {
		os.WriteFile(path, []byte(text), 0o600)
		_, err := OpenCassette(path, Replay, redact.New())
		if !errors.Is(err, ErrCassetteEdited) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--replay-edited") {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := OpenCassette(path, Replay, redact.New(), AllowEdited()); err != nil {
			t.Fatalf("%s with AllowEdited: %v", name, err)
		}
	}
}

// The placeholders a cassette saves cover every encoding String masks: a
// vendor echoing the password HTML-escaped or \u-escaped must not leave it
// in the file.
func TestCassetteHidesEchoedEncodings(t *testing.T) {
	red := redact.New()
	red.Add("pa<ss&wörd-1")
	c := &Cassette{red: red}
	for _, echo := range []string{`pa&lt;ss&amp;w&#246;rd-1`, `pa\u003css\u0026w\u00f6rd-1`, `pa%3css%26w%c3%b6rd-1`} {
		got := c.hide(`{"error":"bad password ` + echo + `"}`)
		if got != `{"error":"bad password __tokenflow_secret_1__"}` {
			t.Errorf("%s: %s", echo, got)
		}
	}
}
