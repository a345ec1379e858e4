package ops

import (
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// The Fernet spec's test vector (github.com/fernet/spec, generate.json and verify.json).
const (
	specKey   = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
	specToken = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
)

var specNow = time.Date(1985, 10, 26, 1, 20, 0, 0, time.FixedZone("PDT", -7*3600))

func TestFernetSpecVector(t *testing.T) {
	iv := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	tok, err := fernetEncryptIV(specKey, []byte("hello"), specNow, iv)
	if err != nil || tok != specToken {
		t.Fatalf("encrypt: %q, %v; want the spec's token", tok, err)
	}
	pt, ts, e := fernetDecrypt(specKey, specToken)
	if e != nil || string(pt) != "hello" || !ts.Equal(specNow) {
		t.Fatalf("decrypt: %q at %v, %v", pt, ts, e)
	}
	// Unpadded base64 and surrounding whitespace (a file with a newline) are fine too.
	if pt, _, e := fernetDecrypt(" "+strings.TrimRight(specKey, "=")+"\n", strings.TrimRight(specToken, "=")+"\n"); e != nil || string(pt) != "hello" {
		t.Fatalf("unpadded: %q, %v", pt, e)
	}
}

func TestFernetRefusesWrongKeyAndCorruptTokens(t *testing.T) {
	other := newFernetKey()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := []struct {
		name, key, token, param, want string
	}{
		{"wrong key", other, specToken, "key", "HMAC check failed"},
		{"flipped ciphertext", specKey, flip(specToken, 60), "key", "HMAC check failed"},
		{"truncated", specKey, specToken[:40], "cred", "not a Fernet token"},
		{"not base64", specKey, "gAAAAA!!!!", "cred", "not a Fernet token"},
		{"bad version", specKey, "AAAA" + specToken[4:], "cred", "not a Fernet token"},
		{"key is no key", "short", specToken, "key", "not a Fernet key"},
		{"swapped", specToken, specKey, "key", "swapped"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, e := fernetDecrypt(tc.key, tc.token)
			if e == nil || e.Code != sdk.CodeInvalidArgument || e.Param != tc.param || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("got %v, want %s error about %q", e, tc.param, tc.want)
			}
			for _, s := range []string{tc.key, tc.token, "hello"} {
				if len(s) > 8 && strings.Contains(e.Error(), s) {
					t.Fatalf("error quotes an input: %v", e)
				}
			}
		})
	}
}

// TestFernetAgainstPythonCryptography cross-checks with the library vmt-connect uses, when it
// happens to be installed; the tests above do not depend on it.
func TestFernetAgainstPythonCryptography(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import cryptography.fernet").Run() != nil {
		t.Skip("python3 with cryptography not installed")
	}
	key := newFernetKey()
	auth := base64.StdEncoding.EncodeToString([]byte("svc:p@ss:word"))
	ours, err := fernetEncrypt(key, []byte(auth), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	script := `import sys
from cryptography.fernet import Fernet
f = Fernet(sys.argv[1].encode())
sys.stdout.write(f.decrypt(sys.argv[2].encode()).decode() + "\n")
sys.stdout.write(f.encrypt(sys.argv[3].encode()).decode() + "\n")`
	out, err := exec.Command(py, "-c", script, key, ours, auth).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != auth {
		t.Fatalf("python decrypted %q", lines)
	}
	pt, _, e := fernetDecrypt(key, lines[1])
	if e != nil || string(pt) != auth {
		t.Fatalf("we decrypted python's token to %q, %v", pt, e)
	}
}
