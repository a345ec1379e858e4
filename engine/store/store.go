// Package store is the token store behind the store.* builtins.
//
// A token is named by its target and its name ("acme-east-1",
// "acme/ci-bot/main"): the same name on two targets is two tokens, so the
// runs of a fleet can never overwrite each other's credentials. A token has
// versions; at most one is current.
// Rotation writes the new value as pending, verifies it, promotes it (the
// old current becomes previous) and finally marks the previous one revoked,
// so the last valid credential is never lost.
//
// Store is the interface the engine uses; Memory is the in-process
// implementation (tests, runs without a state directory); engine/state
// backs the same interface with the encrypted database.
package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Token states.
const (
	Pending  = "pending"  // stored, not yet verified
	Current  = "current"  // the value consumers should use
	Previous = "previous" // replaced; waiting to be revoked at the vendor
	Revoked  = "revoked"  // revoked at the vendor (or known gone)
)

// Token is one version of a stored credential. Value is the secret; nothing
// that lists tokens may print it.
type Token struct {
	ID        string
	Name      string
	Value     string
	Vendor    string
	Target    string // the target the token belongs to (inventory name, or the connection URL of a single run)
	ExpiresAt time.Time
	Labels    map[string]string
	CreatedAt time.Time
	RotatedAt time.Time // when this version replaced an earlier one
	RunID     string
	State     string
}

// ErrNotFound is returned for a name (or id) the store does not hold.
var ErrNotFound = errors.New("token not found")

// Store keeps tokens.
type Store interface {
	// Put stores a version. State "" or Current makes it current (the old
	// current becomes previous, unless it holds the same value, in which
	// case only its metadata changes); Pending stores it beside the current
	// one.
	Put(ctx context.Context, t Token) error
	// Get returns the current version of the target's name.
	Get(ctx context.Context, target, name string) (Token, error)
	// List returns the current version of every name of every target.
	List(ctx context.Context) ([]Token, error)
	// Versions returns every version of the target's name, newest first.
	Versions(ctx context.Context, target, name string) ([]Token, error)
	// Promote makes the newest pending version of the target's name
	// current. A pending value equal to the current one is dropped instead:
	// nothing rotated.
	Promote(ctx context.Context, target, name string) error
	// SetState changes the state of one version (previous -> revoked).
	SetState(ctx context.Context, id, state string) error
	// Delete forgets every version of the target's name.
	Delete(ctx context.Context, target, name string) error
}

// Memory is a Store in process memory. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	versions []Token // oldest first
	seq      int
	now      func() time.Time
}

// NewMemory returns an empty memory store. now defaults to time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now}
}

func (t *Token) is(target, name string) bool { return t.Target == target && t.Name == name }

func (m *Memory) current(target, name string) int {
	for i := len(m.versions) - 1; i >= 0; i-- {
		if m.versions[i].is(target, name) && m.versions[i].State == Current {
			return i
		}
	}
	return -1
}

func (m *Memory) Put(_ context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.State == "" {
		t.State = Current
	}
	if t.State != Current && t.State != Pending {
		return fmt.Errorf("put %s: state must be current or pending, not %q", t.Name, t.State)
	}
	now := m.now()
	t.CreatedAt = now
	if t.State == Pending {
		// The same value stored as pending again (a resumed run replays
		// the put): refresh it rather than queue a duplicate.
		for i := range m.versions {
			if v := &m.versions[i]; v.is(t.Target, t.Name) && v.State == Pending && v.Value == t.Value {
				t.ID, t.CreatedAt = v.ID, v.CreatedAt
				*v = t
				return nil
			}
		}
	}
	if t.State == Current {
		if i := m.current(t.Target, t.Name); i >= 0 {
			old := &m.versions[i]
			if old.Value == t.Value {
				t.ID, t.CreatedAt, t.RotatedAt = old.ID, old.CreatedAt, old.RotatedAt
				*old = t
				return nil
			}
			old.State = Previous
			t.RotatedAt = now
		}
	}
	m.seq++
	t.ID = fmt.Sprintf("%s#%d", t.Name, m.seq)
	if t.Target != "" {
		t.ID = t.Target + "/" + t.ID
	}
	m.versions = append(m.versions, t)
	return nil
}

func (m *Memory) Get(_ context.Context, target, name string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.current(target, name); i >= 0 {
		return m.versions[i], nil
	}
	return Token{}, ErrNotFound
}

func (m *Memory) List(_ context.Context) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Token
	for _, t := range m.versions {
		if t.State == Current {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (m *Memory) Versions(_ context.Context, target, name string) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Token
	for i := len(m.versions) - 1; i >= 0; i-- {
		if m.versions[i].is(target, name) {
			out = append(out, m.versions[i])
		}
	}
	return out, nil
}

func (m *Memory) Promote(_ context.Context, target, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.versions) - 1; i >= 0; i-- {
		if m.versions[i].is(target, name) && m.versions[i].State == Pending {
			now := m.now()
			if c := m.current(target, name); c >= 0 && m.versions[c].Value == m.versions[i].Value {
				// The vendor handed back the same credential: nothing
				// rotated, nothing to revoke.
				m.versions = append(m.versions[:i], m.versions[i+1:]...)
				return nil
			}
			if c := m.current(target, name); c >= 0 {
				m.versions[c].State = Previous
				m.versions[i].RotatedAt = now
			}
			m.versions[i].State = Current
			return nil
		}
	}
	return fmt.Errorf("promote %s: no pending version: %w", name, ErrNotFound)
}

func (m *Memory) SetState(_ context.Context, id, state string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.versions {
		if m.versions[i].ID == id {
			m.versions[i].State = state
			return nil
		}
	}
	return ErrNotFound
}

func (m *Memory) Delete(_ context.Context, target, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.versions[:0]
	found := false
	for _, t := range m.versions {
		if t.is(target, name) {
			found = true
			continue
		}
		kept = append(kept, t)
	}
	m.versions = kept
	if !found {
		return ErrNotFound
	}
	return nil
}
