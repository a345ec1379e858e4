package pluginmgr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// LockFileName is the lock file `tokenflow plugins lock` writes and a run
// looks for in its flow's directory and upward.
const LockFileName = "tokenflow.lock"

// lockFormat is the lock file's own format version: a reader refuses a
// newer one rather than half-understanding it.
const lockFormat = 1

// Lock pins the plugin binaries a run may use. With a lock, a run starts
// only plugins whose binary has the recorded SHA-256; a vendor missing from
// the lock is refused too, so nothing unpinned runs by accident.
//
// The hash is checked just before the binary is started. Someone able to
// replace the file between the check and the start can already replace the
// tokenflow binary; the lock protects against an upgraded, tampered or
// shadowing plugin, not against a hostile local administrator.
type Lock struct {
	// File is where the lock was read from (for messages).
	File    string         `json:"-"`
	Format  int            `json:"format"`
	Plugins []LockedPlugin `json:"plugins"`

	mu     sync.Mutex
	hashed map[string]hashedFile // path -> hash of the file as last seen
}

// LockedPlugin is one pinned plugin binary.
type LockedPlugin struct {
	Vendor   string `json:"vendor"`
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	SHA256   string `json:"sha256"`
	// Path is where the binary was when it was locked. A binary found
	// elsewhere with the same hash is accepted (the install moved); with
	// another hash it is refused as shadowing the locked one.
	Path string `json:"path"`
}

// hashedFile caches a hash while the file's size and mtime are unchanged,
// so a fleet run that restarts a plugin does not re-read it each time.
type hashedFile struct {
	size int64
	mod  int64
	sum  string
}

// ErrLockMismatch means a plugin binary does not match the lock file.
var ErrLockMismatch = errors.New("plugin binary does not match the lock file")

// LoadLock reads a lock file.
func LoadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	l := &Lock{}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("lock file %s is not valid JSON: %w (regenerate it with `tokenflow plugins lock`)", path, err)
	}
	if l.Format != lockFormat {
		return nil, fmt.Errorf("lock file %s has format %d, this tokenflow reads format %d (regenerate it with `tokenflow plugins lock`)", path, l.Format, lockFormat)
	}
	seen := map[string]bool{}
	for _, p := range l.Plugins {
		if p.Vendor == "" || len(p.SHA256) != 64 {
			return nil, fmt.Errorf("lock file %s: entry %q has no vendor or no valid sha256 (regenerate it with `tokenflow plugins lock`)", path, p.Vendor)
		}
		if seen[p.Vendor] {
			return nil, fmt.Errorf("lock file %s: vendor %q is locked twice", path, p.Vendor)
		}
		seen[p.Vendor] = true
	}
	l.File = path
	return l, nil
}

// FindLock looks for tokenflow.lock in dir and each of its parents, and
// returns "" when there is none.
func FindLock(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(abs, LockFileName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", nil
		}
		abs = parent
	}
}

// Entry returns the vendor's locked entry, or nil.
func (l *Lock) Entry(vendor string) *LockedPlugin {
	for i := range l.Plugins {
		if l.Plugins[i].Vendor == vendor {
			return &l.Plugins[i]
		}
	}
	return nil
}

// Verify checks that the binary at path is the one locked for vendor. The
// error names the vendor, both paths, both hashes and how to update the lock.
func (l *Lock) Verify(vendor, path string) error {
	e := l.Entry(vendor)
	if e == nil {
		return fmt.Errorf("%w: plugin %s (%s) is not in lock file %s; add it with `tokenflow plugins lock` (run where the lock file is)",
			ErrLockMismatch, vendor, path, l.File)
	}
	sum, err := l.hash(path)
	if err != nil {
		return fmt.Errorf("plugin %s: hash %s for lock file %s: %w", vendor, path, l.File, err)
	}
	if sum == e.SHA256 {
		return nil
	}
	update := "if this binary is the one you mean to run, update the lock with `tokenflow plugins lock`"
	if abs, err := filepath.Abs(path); err == nil && e.Path != "" && abs != e.Path {
		return fmt.Errorf("%w: plugin %s found at %s shadows the locked one at %s (lock file %s): sha256 expected %s, actual %s; remove or rename the earlier binary, or %s",
			ErrLockMismatch, vendor, path, e.Path, l.File, e.SHA256, sum, update)
	}
	return fmt.Errorf("%w: plugin %s at %s changed since it was locked in %s (version %s): sha256 expected %s, actual %s; reinstall the locked version, or %s",
		ErrLockMismatch, vendor, path, l.File, e.Version, e.SHA256, sum, update)
}

func (l *Lock) hash(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	h, ok := l.hashed[path]
	l.mu.Unlock()
	if ok && h.size == fi.Size() && h.mod == fi.ModTime().UnixNano() {
		return h.sum, nil
	}
	sum, err := FileSHA256(path)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	if l.hashed == nil {
		l.hashed = map[string]hashedFile{}
	}
	l.hashed[path] = hashedFile{size: fi.Size(), mod: fi.ModTime().UnixNano(), sum: sum}
	l.mu.Unlock()
	return sum, nil
}

// FileSHA256 returns the hex SHA-256 of a file's contents.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// NewLock builds a lock from plugin entries, sorted by vendor. Paths are
// made absolute; a zero Protocol is this engine's (the only one a plugin
// it started can speak).
func NewLock(entries []LockedPlugin) (*Lock, error) {
	l := &Lock{Format: lockFormat}
	for _, e := range entries {
		if e.Protocol == 0 {
			e.Protocol = pb.ProtocolVersion
		}
		abs, err := filepath.Abs(e.Path)
		if err != nil {
			return nil, err
		}
		e.Path = abs
		l.Plugins = append(l.Plugins, e)
	}
	sort.Slice(l.Plugins, func(i, j int) bool { return l.Plugins[i].Vendor < l.Plugins[j].Vendor })
	return l, nil
}

// Write saves the lock to path atomically (a temporary file renamed over
// it), so a run never reads half a lock.
func (l *Lock) Write(path string) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokenflow.lock-*")
	if err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	l.File = path
	return nil
}
