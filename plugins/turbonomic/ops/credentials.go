package ops

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// vmt-connect keeps credentials in two files (vmtconnect/security.py): a Fernet key and a
// Fernet token whose plaintext is base64("user:password"). Fernet
// (https://github.com/fernet/spec) is AES-128-CBC with PKCS#7 padding, authenticated with
// HMAC-SHA256:
//
//	key   = base64url(signing key [16] || encryption key [16])
//	token = base64url(0x80 || timestamp [8, big endian seconds] || IV [16] || ciphertext || HMAC [32])
//
// where the HMAC covers everything before it. The HMAC is checked before anything is
// decrypted. Errors never quote a key, a token or a plaintext.

const fernetVersion = 0x80

var b64url = base64.URLEncoding

// decodeB64URL accepts padded and unpadded URL-safe base64 (and tolerates surrounding space).
func decodeB64URL(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if m := len(s) % 4; m != 0 {
		s += strings.Repeat("=", 4-m)
	}
	return b64url.DecodeString(s)
}

func looksLikeToken(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "gAAAAA") }

// fernetKey splits a Fernet key into its signing and encryption halves.
func fernetKey(key string) (sign, enc []byte, err error) {
	if looksLikeToken(key) {
		return nil, nil, errors.New("this looks like a Fernet token (the .cred file), not a key: are key and cred swapped?")
	}
	k, err := decodeB64URL(key)
	if err != nil || len(k) != 32 {
		return nil, nil, errors.New("not a Fernet key: want 44 characters of URL-safe base64 encoding 32 bytes (the .key file vmt-connect's Credential writes)")
	}
	return k[:16], k[16:], nil
}

// fernetDecrypt verifies and decrypts a Fernet token. It returns the plaintext and the
// token's timestamp.
func fernetDecrypt(key, token string) ([]byte, time.Time, *sdk.Error) {
	sign, enc, err := fernetKey(key)
	if err != nil {
		return nil, time.Time{}, sdk.InvalidArgument("key", "%v", err)
	}
	raw, err := decodeB64URL(token)
	const minLen = 1 + 8 + aes.BlockSize + aes.BlockSize + sha256.Size
	if err != nil || len(raw) < minLen || raw[0] != fernetVersion || (len(raw)-1-8-aes.BlockSize-sha256.Size)%aes.BlockSize != 0 {
		return nil, time.Time{}, sdk.InvalidArgument("cred", "not a Fernet token (the .cred file holds text starting gAAAA); the file is corrupt or not a vmt-connect credential")
	}
	body, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	h := hmac.New(sha256.New, sign)
	h.Write(body)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, time.Time{}, sdk.InvalidArgument("key", "the key does not open this credential (HMAC check failed): the key file belongs to another credential, or the cred file is corrupt")
	}
	ts := time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0).UTC()
	iv, ct := body[9:9+aes.BlockSize], body[9+aes.BlockSize:]
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, time.Time{}, sdk.Errorf(sdk.CodeInternal, "decrypt credential: %v", err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	n := int(pt[len(pt)-1])
	if n == 0 || n > aes.BlockSize || n > len(pt) {
		return nil, time.Time{}, sdk.InvalidArgument("cred", "the credential decrypts to malformed data (bad padding); the cred file is corrupt")
	}
	for _, b := range pt[len(pt)-n:] {
		if int(b) != n {
			return nil, time.Time{}, sdk.InvalidArgument("cred", "the credential decrypts to malformed data (bad padding); the cred file is corrupt")
		}
	}
	return pt[:len(pt)-n], ts, nil
}

// fernetEncrypt makes a Fernet token of plaintext with key, stamped at now, with a random IV.
func fernetEncrypt(key string, plaintext []byte, now time.Time) (string, error) {
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	return fernetEncryptIV(key, plaintext, now, iv)
}

// fernetEncryptIV is fernetEncrypt with a given IV (tests use the spec's vectors).
func fernetEncryptIV(key string, plaintext []byte, now time.Time, iv []byte) (string, error) {
	sign, enc, err := fernetKey(key)
	if err != nil {
		return "", err
	}
	if len(iv) != aes.BlockSize {
		return "", errors.New("fernet: IV must be 16 bytes")
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(append([]byte{}, plaintext...), make([]byte, n)...)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(n)
	}
	body := make([]byte, 1+8+aes.BlockSize, 1+8+aes.BlockSize+len(padded)+sha256.Size)
	body[0] = fernetVersion
	binary.BigEndian.PutUint64(body[1:9], uint64(now.Unix()))
	copy(body[9:9+aes.BlockSize], iv)
	block, err := aes.NewCipher(enc)
	if err != nil {
		return "", err
	}
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	body = append(body, ct...)
	h := hmac.New(sha256.New, sign)
	h.Write(body)
	return b64url.EncodeToString(h.Sum(body)), nil
}

// newFernetKey returns a fresh random key (what Fernet.generate_key() makes).
func newFernetKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return b64url.EncodeToString(k)
}

func decryptCredentialsOp() sdk.Op {
	return sdk.Op{
		Name: "decrypt_credentials",
		Doc:  "Open a vmt-connect credential (Fernet key file + cred file, read with file.read_secret); no request is sent",
		// Pure: it runs in the plugin alone.
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "key", Type: sdk.Secret, Required: true, Doc: "contents of the key file (default ~/.turbo_services_api_creds/.key)"},
			{Name: "cred", Type: sdk.Secret, Required: true, Doc: "contents of the cred file (default ~/.turbo_services_api_creds/.cred)"},
		},
		Results: []sdk.Field{
			{Name: "username", Type: sdk.String},
			{Name: "password", Type: sdk.Secret},
			{Name: "auth", Type: sdk.Secret, Doc: `base64("user:password"): what vmt-connect passes as Connection(auth=...); connect(auth = ...) takes it too`},
			{Name: "encrypted_at", Type: sdk.Timestamp, Doc: "when the cred file was written (the Fernet timestamp)"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			pt, ts, e := fernetDecrypt(c.Args.String("key"), c.Args.String("cred"))
			if e != nil {
				return nil, e
			}
			auth := strings.TrimSpace(string(pt))
			user, pass, err := decodeAuth(auth)
			if err != nil {
				return nil, sdk.InvalidArgument("cred", "the credential opens, but %v (vmt-connect stores base64 of \"user:password\")", err)
			}
			return map[string]any{"username": user, "password": pass, "auth": auth, "encrypted_at": ts.Format(time.RFC3339)}, nil
		},
	}
}

func encryptCredentialsOp() sdk.Op {
	return sdk.Op{
		Name: "encrypt_credentials",
		Doc:  "Make a vmt-connect credential (key + cred file contents, for sink.file) from a username and password; no request is sent",
		// Pure: it runs in the plugin alone.
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "username", Type: sdk.String, Required: true},
			{Name: "password", Type: sdk.Secret, Required: true},
			{Name: "key", Type: sdk.Secret, Default: "", Doc: "an existing Fernet key to use; empty makes a new one"},
		},
		Results: []sdk.Field{
			{Name: "key", Type: sdk.Secret, Doc: "the .key file contents"},
			{Name: "cred", Type: sdk.Secret, Doc: "the .cred file contents"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			user, pass := c.Args.String("username"), c.Args.String("password")
			if user == "" || strings.Contains(user, ":") {
				return nil, sdk.InvalidArgument("username", "must be non-empty and hold no ':'")
			}
			if pass == "" {
				return nil, sdk.InvalidArgument("password", "must not be empty")
			}
			key := strings.TrimSpace(c.Args.String("key"))
			if key == "" {
				key = newFernetKey()
			}
			auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
			tok, err := fernetEncrypt(key, []byte(auth), time.Now())
			if err != nil {
				return nil, sdk.InvalidArgument("key", "%v", err)
			}
			return map[string]any{"key": key, "cred": tok}, nil
		},
	}
}
