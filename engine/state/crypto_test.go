package state

import (
	"bytes"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// sealAge seals as releases before "tfs1:" did.
func (k *Keyring) sealAge(plain []byte) (string, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.id.Recipient())
	if err != nil {
		return "", err
	}
	if _, err := w.Write(plain); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func keyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := LoadKeyring(filepath.Join(t.TempDir(), "key"), true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpens(t *testing.T) {
	k := keyring(t)
	secret := []byte(`{"token":"s3cr3t-value"}`)
	a, err := k.Seal(secret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal(secret)
	if a == b {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if strings.Contains(a, "s3cr3t") || strings.Contains(a, base64.StdEncoding.EncodeToString(secret)[:12]) {
		t.Fatalf("sealed value shows the secret: %s", a)
	}
	got, err := k.Open(a)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
}

func TestValuesSealedWithAgeStillOpen(t *testing.T) {
	k := keyring(t)
	old, err := k.sealAge([]byte("from an older release"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Open(old)
	if err != nil || string(got) != "from an older release" {
		t.Fatalf("open: %q, %v", got, err)
	}
}

func TestAnotherKeyOrAnAlteredValueDoesNotOpen(t *testing.T) {
	k, other := keyring(t), keyring(t)
	sealed, err := k.Seal([]byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed); !errors.Is(err, ErrKey) {
		t.Fatalf("another key: %v, want ErrKey", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	raw[len(raw)-1] ^= 1
	if _, err := k.Open(sealPrefix + base64.StdEncoding.EncodeToString(raw)); !errors.Is(err, ErrKey) {
		t.Fatalf("altered value: %v, want ErrKey", err)
	}
	if _, err := k.Open(sealPrefix + "not base64!"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: %v, want ErrCorrupt", err)
	}
}
