package state

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/google/renameio/v2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Keyring holds the age identity that seals every secret at rest. Every
// backend of the state (SQLite here, PostgreSQL in pgstate) seals with it, so
// a value is sealed the same way wherever it is kept.
type Keyring struct {
	id   *age.X25519Identity
	path string
	aead cipher.AEAD // derived from id: see Seal

	// known remembers the plaintext of age-sealed values (written by older
	// releases) this process opened, by their sealed form, so reading one
	// back costs no second X25519 operation. Values sealed now open in
	// microseconds and are not remembered. Bounded; secrets the process
	// handles are in its memory anyway.
	mu    sync.Mutex
	known map[string][]byte
	order []string
}

func newKeyring(id *age.X25519Identity, path string) (*Keyring, error) {
	key, err := hkdf.Key(sha256.New, []byte(id.String()), nil, sealInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive the sealing key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &Keyring{id: id, path: path, aead: aead}, nil
}

// knownMax bounds the plaintexts the keyring remembers.
const knownMax = 8192

func (k *Keyring) remember(sealed string, plain []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.known == nil {
		k.known = map[string][]byte{}
	}
	if _, ok := k.known[sealed]; ok {
		return
	}
	if len(k.order) >= knownMax {
		delete(k.known, k.order[0])
		k.order = k.order[1:]
	}
	k.known[sealed] = bytes.Clone(plain)
	k.order = append(k.order, sealed)
}

func (k *Keyring) recall(sealed string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.known[sealed]
	return bytes.Clone(p), ok
}

// LoadKeyring reads the key file at path (mode 0600), creating a new key
// there when it is missing and create is set (a new database). A missing key
// without create is an error: a new key could not open the secrets already
// sealed.
func LoadKeyring(path string, create bool) (*Keyring, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return nil, fmt.Errorf("%w: %s is missing but the database exists; its secrets cannot be opened without it (restore the key; nothing was changed)", ErrKey, path)
	case errors.Is(err, fs.ErrNotExist):
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		content := "# tokenflow state key: keep it private and back it up with the database\n" + id.String() + "\n"
		if err := renameio.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, fmt.Errorf("write state key: %w", err)
		}
		return newKeyring(id, path)
	case err != nil:
		return nil, fmt.Errorf("%w: read %s: %v", ErrKey, path, err)
	}
	if err := checkPrivate(path, false); err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("%w: %s does not hold one age identity", ErrKey, path)
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("%w: %s: want an X25519 identity", ErrKey, path)
	}
	return newKeyring(x, path)
}

// Sealed values are "tfs1:" and the base64 of a random 24-byte nonce and
// XChaCha20-Poly1305 ciphertext, under a key derived (HKDF-SHA256) from the
// age identity. Whoever seals a value also holds the identity that opens
// it, so nothing asymmetric is needed: age's X25519 recipient made an
// ephemeral key and an X25519 exchange for every value, most of the cost of
// a journaled step. Values sealed before with age still open.
const (
	sealPrefix = "tfs1:"
	sealInfo   = "tokenflow state seal v1"
)

// Seal encrypts plain for the key and returns it as text (TEXT on every
// SQL database).
func (k *Keyring) Seal(plain []byte) (string, error) {
	buf := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = k.aead.Seal(buf, buf, plain, nil)
	return sealPrefix + base64.StdEncoding.EncodeToString(buf), nil
}

// Open decrypts a value Seal returned (or an age-sealed value of an older
// release). A value sealed for another key fails with ErrKey.
func (k *Keyring) Open(sealed string) ([]byte, error) {
	if strings.HasPrefix(sealed, sealPrefix) {
		return k.open(sealed)
	}
	if plain, ok := k.recall(sealed); ok {
		return plain, nil
	}
	plain, err := k.open(sealed)
	if err == nil {
		k.remember(sealed, plain)
	}
	return plain, err
}

// open decrypts, always: the key check must prove the key.
func (k *Keyring) open(sealed string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(sealed, sealPrefix); ok {
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(raw) < chacha20poly1305.NonceSizeX {
			return nil, fmt.Errorf("%w: sealed value is not base64 of a nonce and ciphertext", ErrCorrupt)
		}
		plain, err := k.aead.Open(nil, raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s does not open this database's secrets (the value was sealed with another key, or altered)", ErrKey, k.path)
		}
		return plain, nil
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value is not base64", ErrCorrupt)
	}
	r, err := age.Decrypt(bytes.NewReader(raw), k.id)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not open this database's secrets (%v)", ErrKey, k.path, err)
	}
	return io.ReadAll(r)
}

const keyCheckText = "tokenflow key check"

// SealCheck seals the known value a database keeps to prove which key its
// secrets are sealed with (stored once, on first use).
func (k *Keyring) SealCheck() (string, error) { return k.Seal([]byte(keyCheckText)) }

// VerifyCheck opens the value SealCheck stored: ErrKey when this key is not
// the database's.
func (k *Keyring) VerifyCheck(sealed string) error {
	plain, err := k.open(sealed)
	if err != nil {
		return err
	}
	if !strings.EqualFold(string(plain), keyCheckText) {
		return fmt.Errorf("%w: key check value does not match", ErrKey)
	}
	return nil
}

// checkKey proves the key opens the database: a known value is sealed on
// first use and opened on every later one.
func (db *DB) checkKey(ctx context.Context) error {
	var sealed string
	err := db.sql.QueryRowContext(ctx, `SELECT sealed FROM key_check WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		s, err := db.keys.SealCheck()
		if err != nil {
			return err
		}
		return db.exec(ctx, `INSERT INTO key_check (id, sealed) VALUES (1, ?)`, s)
	}
	if err != nil {
		return classify(db.path, err)
	}
	return db.keys.VerifyCheck(sealed)
}

// Derive returns a 32-byte key for one purpose (label), derived from the
// state key with HMAC-SHA256: every machine holding the state key derives
// the same one, and it reveals nothing of the state key. Distributed mode
// keys its activity-id hashes with it, per Temporal namespace.
func (k *Keyring) Derive(label string) []byte {
	m := hmac.New(sha256.New, []byte(k.id.String()))
	m.Write([]byte("tokenflow derive\x00" + label))
	return m.Sum(nil)
}
