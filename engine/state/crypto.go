package state

import (
	"bytes"
	"context"
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
)

// Keyring holds the age identity that seals every secret at rest. Every
// backend of the state (SQLite here, PostgreSQL in pgstate) seals with it, so
// a value is sealed the same way wherever it is kept.
type Keyring struct {
	id   *age.X25519Identity
	path string

	// known remembers the plaintext of values this process sealed or
	// opened, by their sealed form, so a value read back in the same
	// process (a put compared with the current version, a rotation reading
	// the versions it stored) costs no second X25519 operation: opening is
	// most of a fleet run's CPU otherwise. Bounded; secrets the process
	// handles are in its memory anyway.
	mu    sync.Mutex
	known map[string][]byte
	order []string
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
		return &Keyring{id: id, path: path}, nil
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
	return &Keyring{id: x, path: path}, nil
}

// Seal encrypts plain for the key and returns it base64-encoded (TEXT on
// every SQL database).
func (k *Keyring) Seal(plain []byte) (string, error) {
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
	sealed := base64.StdEncoding.EncodeToString(buf.Bytes())
	k.remember(sealed, plain)
	return sealed, nil
}

// Open decrypts a value Seal returned. A value sealed for another key fails
// with ErrKey.
func (k *Keyring) Open(sealed string) ([]byte, error) {
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
