package simkit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// BearerToken returns the credential of an "Authorization: <scheme> <token>" header. The scheme
// is compared case-insensitively ("Bearer", "OpsToken", ...). It reports false when the header
// is missing, uses another scheme or carries an empty token.
func BearerToken(r *http.Request, scheme string) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	s, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(s, scheme) {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", false
	}
	return tok, true
}

// RandomHex returns n random bytes from crypto/rand as 2n lower-case hex characters.
func RandomHex(n int) string {
	return hex.EncodeToString(randomBytes(n))
}

// RandomURLSafe returns n random bytes from crypto/rand encoded as unpadded URL-safe base64
// (about 4n/3 characters of [A-Za-z0-9_-]), the shape of most opaque API secrets.
func RandomURLSafe(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// RandomUUID returns a random (version 4) UUID in its canonical 36-character form.
func RandomUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randomBytes(n int) []byte {
	if n < 0 {
		n = 0
	}
	b := make([]byte, n)
	// crypto/rand.Read never returns an error since Go 1.24; it crashes the program instead.
	_, _ = rand.Read(b)
	return b
}
