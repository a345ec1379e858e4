package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/store/storetest"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, filepath.Join(t.TempDir(), "state")) })
}

func TestCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	open(t, dir)
	for name, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, dbName): 0o600, filepath.Join(dir, keyName): 0o600} {
		fi, err := os.Stat(name)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", name, fi.Mode().Perm(), err, want)
		}
	}
}

func TestSecretsAreEncryptedAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	db := open(t, dir)
	const canary = "canary-token-value-8181"
	if err := db.Put(context.Background(), store.Token{Name: "x", Value: canary, Vendor: "xyz"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, f := range []string{dbName, dbName + "-wal"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(data, []byte(canary)) {
			t.Fatalf("%s holds the token in plain text", f)
		}
	}
	db = open(t, dir)
	got, err := db.Get(context.Background(), "", "x")
	if err != nil || got.Value != canary {
		t.Fatalf("reopen: %+v %v", got, err)
	}
}

func TestRefusesReadableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	open(t, dir).Close()
	os.Chmod(filepath.Join(dir, dbName), 0o644)
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v", err)
	}
	os.Chmod(filepath.Join(dir, dbName), 0o600)
	os.Chmod(dir, 0o755)
	_, err = Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingOrWrongKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	db := open(t, dir)
	db.Put(context.Background(), store.Token{Name: "x", Value: "v"})
	db.Close()
	keyPath := filepath.Join(dir, keyName)
	key, _ := os.ReadFile(keyPath)
	os.Remove(keyPath)
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a new key was created over an existing database")
	}
	// Another database's key.
	other := filepath.Join(t.TempDir(), "other")
	open(t, other).Close()
	otherKey, _ := os.ReadFile(filepath.Join(other, keyName))
	os.WriteFile(keyPath, otherKey, 0o600)
	_, err = Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("wrong key: %v", err)
	}
	os.WriteFile(keyPath, key, 0o600)
	open(t, dir)
}

func TestCorruptDatabaseIsNotOverwritten(t *testing.T) {
	for name, content := range map[string][]byte{
		"garbage":   bytes.Repeat([]byte("not a database "), 100),
		"truncated": []byte("SQLite format 3\x00"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			open(t, dir).Close()
			path := filepath.Join(dir, dbName)
			os.Remove(path + "-wal")
			os.Remove(path + "-shm")
			os.WriteFile(path, content, 0o600)
			_, err := Open(context.Background(), Options{Dir: dir})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("got %v", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Fatal("corrupt database was modified")
			}
		})
	}
}

func TestSecondWriterWaitsThenFailsClearly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	open(t, dir).Close()
	holder, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.sql.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO key_check (id, sealed) VALUES (99, 'x')`); err != nil {
		t.Fatal(err)
	}
	other, err := Open(context.Background(), Options{Dir: dir, LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := time.Now()
	err = other.Put(context.Background(), store.Token{Name: "x", Value: "v"})
	if err == nil || !strings.Contains(err.Error(), "locked by another tokenflow run") {
		t.Fatalf("got %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("failed after %s without waiting for the lock", waited)
	}
}

// TestDeriveIsPerKeyAndLabel: the same key and label give the same bytes
// (workers agree), another label or another key different ones.
func TestDeriveIsPerKeyAndLabel(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadKeyring(filepath.Join(dir, "a.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := LoadKeyring(filepath.Join(dir, "a.txt"), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKeyring(filepath.Join(dir, "b.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Derive("ns1"), a2.Derive("ns1")) {
		t.Fatal("the same key derived two different keys for one label")
	}
	if bytes.Equal(a.Derive("ns1"), a.Derive("ns2")) || bytes.Equal(a.Derive("ns1"), b.Derive("ns1")) {
		t.Fatal("derived keys do not depend on the label and the key")
	}
	if len(a.Derive("ns1")) != 32 {
		t.Fatalf("derived key is %d bytes, want 32", len(a.Derive("ns1")))
	}
}
