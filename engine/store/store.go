// Package store is the token store behind the store.* builtins.
//
// Store is the interface the engine uses; Memory is the in-process
// implementation used by the demo and by runs without a state directory. The
// state issue backs the same interface with the encrypted database.
package store

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// Token is one stored credential. Value is the secret; nothing that lists
// tokens may print it.
type Token struct {
	Name      string
	Value     string
	Vendor    string
	Target    string // the connection URL the token is for
	ExpiresAt time.Time
	Labels    map[string]string
	CreatedAt time.Time
	RotatedAt time.Time // zero until a value replaces an earlier one
	RunID     string
}

// ErrNotFound is returned by Get for a name the store does not hold.
var ErrNotFound = errors.New("token not found")

// Store keeps tokens.
type Store interface {
	Put(ctx context.Context, t Token) error
	Get(ctx context.Context, name string) (Token, error)
	List(ctx context.Context) ([]Token, error)
	Delete(ctx context.Context, name string) error
}

// Memory is a Store in process memory. Safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	tokens map[string]Token
	now    func() time.Time
}

// NewMemory returns an empty memory store. now defaults to time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{tokens: map[string]Token{}, now: now}
}

func (m *Memory) Put(_ context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if old, ok := m.tokens[t.Name]; ok {
		t.CreatedAt = old.CreatedAt
		if old.Value != t.Value {
			t.RotatedAt = now
		} else {
			t.RotatedAt = old.RotatedAt
		}
	} else {
		t.CreatedAt = now
	}
	m.tokens[t.Name] = t
	return nil
}

func (m *Memory) Get(_ context.Context, name string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[name]
	if !ok {
		return Token{}, ErrNotFound
	}
	return t, nil
}

func (m *Memory) List(_ context.Context) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Token, 0, len(m.tokens))
	for _, t := range m.tokens {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Memory) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[name]; !ok {
		return ErrNotFound
	}
	delete(m.tokens, name)
	return nil
}
