package hostnet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/redact"
)

func TestMaxSecretKeyCoversEveryKey(t *testing.T) {
	for k := range secretKeys {
		if len(k) > maxSecretKey {
			t.Errorf("secret key %q is longer than maxSecretKey (%d)", k, maxSecretKey)
		}
	}
}

// The pre-scan that skips bulk documents agrees with decoding them: a
// credential under any spelling of its key is still registered, and a
// document without one is skipped.
func TestRegisterJSONSecretsFindsEverySpelling(t *testing.T) {
	var bulk strings.Builder
	bulk.WriteString(`[`)
	for i := range 500 {
		if i > 0 {
			bulk.WriteString(`,`)
		}
		fmt.Fprintf(&bulk, `{"uuid":"%d","displayName":"vm-%d é","state":"ACTIVE","tags":{"owner":["ops"]}}`, i, i)
	}
	bulk.WriteString(`]`)
	if mayNameASecret([]byte(bulk.String())) {
		t.Error("a listing without a credential-named key was not skipped")
	}
	for _, doc := range []string{
		`{"token":"s3cret-value-1"}`,
		`{"items":[{"name":"a"},{"Access_Token":"s3cret-value-1"}]}`,
		`{"\u0074oken":"s3cret-value-1"}`,
		`{"` + "\u212a" + `ey":"s3cret-value-1"}`, // Kelvin sign: lowercases to k
		`{"note":"a \"quoted\" word","password":"s3cret-value-1"}`,
	} {
		red := redact.New()
		RegisterJSONSecrets(red, []byte(doc))
		if got := red.String("x s3cret-value-1 x"); strings.Contains(got, "s3cret-value-1") {
			t.Errorf("%s: the credential was not registered (%q)", doc, got)
		}
	}
	red := redact.New()
	RegisterJSONSecrets(red, []byte(bulk.String()))
	if got := red.String("vm-1 ACTIVE"); got != "vm-1 ACTIVE" {
		t.Errorf("a listing registered values: %q", got)
	}
}
