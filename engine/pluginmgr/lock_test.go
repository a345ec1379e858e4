package pluginmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyPlugin copies the testkit binary into dir as tokenflow-plugin-mgrkit,
// with extra bytes appended (a different hash, still a working binary).
func copyPlugin(t *testing.T, dir, extra string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kitDir, "tokenflow-plugin-mgrkit"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "tokenflow-plugin-mgrkit")
	if err := os.WriteFile(p, append(b, extra...), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// lockOne locks the binary at path for mgrkit, writes the lock into dir and
// reads it back as a run would.
func lockOne(t *testing.T, dir, path string) *Lock {
	t.Helper()
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLock([]LockedPlugin{{Vendor: "mgrkit", Version: "0.0.1", Protocol: 1, SHA256: sum, Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, LockFileName)
	if err := l.Write(file); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLock(file)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func startWithLock(dirs []string, l *Lock) error {
	m := New(Config{Dirs: dirs, Lock: l})
	defer m.Close()
	_, err := m.Get(context.Background(), "mgrkit")
	return err
}

func TestLockAcceptsLockedBinary(t *testing.T) {
	dir := t.TempDir()
	p := copyPlugin(t, dir, "")
	l := lockOne(t, t.TempDir(), p)
	if err := startWithLock([]string{dir}, l); err != nil {
		t.Fatalf("locked binary refused: %v", err)
	}
	// The same bytes installed elsewhere are the same plugin.
	moved := t.TempDir()
	copyPlugin(t, moved, "")
	if err := startWithLock([]string{moved}, l); err != nil {
		t.Fatalf("moved locked binary refused: %v", err)
	}
}

func TestLockRefusesTamperedBinary(t *testing.T) {
	dir := t.TempDir()
	p := copyPlugin(t, dir, "")
	l := lockOne(t, t.TempDir(), p)
	want := l.Plugins[0].SHA256
	copyPlugin(t, dir, "tampered")
	err := startWithLock([]string{dir}, l)
	t.Logf("tampered binary: %v", err)
	if !errors.Is(err, ErrLockMismatch) {
		t.Fatalf("tampered binary not refused: %v", err)
	}
	actual, _ := FileSHA256(p)
	for _, s := range []string{"plugin mgrkit", p, "changed since it was locked", "expected " + want, "actual " + actual, "tokenflow plugins lock"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
}

func TestLockRefusesShadowingBinary(t *testing.T) {
	locked, early := t.TempDir(), t.TempDir()
	p := copyPlugin(t, locked, "")
	l := lockOne(t, t.TempDir(), p)
	shadow := copyPlugin(t, early, "shadow")
	err := startWithLock([]string{early, locked}, l)
	t.Logf("shadowing binary: %v", err)
	if !errors.Is(err, ErrLockMismatch) {
		t.Fatalf("shadowing binary not refused: %v", err)
	}
	for _, s := range []string{shadow + " shadows the locked one at " + p, "expected " + l.Plugins[0].SHA256, "remove or rename the earlier binary"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
}

func TestLockRefusesUnlockedVendor(t *testing.T) {
	dir := t.TempDir()
	copyPlugin(t, dir, "")
	l, err := NewLock(nil)
	if err != nil {
		t.Fatal(err)
	}
	l.File = "tokenflow.lock"
	err = startWithLock([]string{dir}, l)
	if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), "not in lock file") {
		t.Fatalf("unlocked vendor: %v", err)
	}
}

func TestFindLockWalksUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "flows", "vendor")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindLock(deep); err != nil || got != "" {
		t.Fatalf("no lock: got %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(root, LockFileName), []byte(`{"format":1,"plugins":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindLock(deep); err != nil || got != filepath.Join(root, LockFileName) {
		t.Fatalf("FindLock = %q, %v", got, err)
	}
}

func TestLoadLockRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"json":   `{`,
		"format": `{"format":9,"plugins":[]}`,
		"sha":    `{"format":1,"plugins":[{"vendor":"x","sha256":"abc"}]}`,
		"twice":  `{"format":1,"plugins":[{"vendor":"x","sha256":"` + strings.Repeat("a", 64) + `"},{"vendor":"x","sha256":"` + strings.Repeat("a", 64) + `"}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadLock(p); err == nil {
			t.Errorf("%s: accepted %s", name, body)
		}
	}
}
