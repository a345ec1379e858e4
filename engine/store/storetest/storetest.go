// Package storetest checks that a store.Store keeps the versioning rules:
// every implementation (memory, the state database) runs the same suite.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	exp := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

	t.Run("put and get", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get of nothing: %v", err)
		}
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "v1", Vendor: "acme", Target: "https://x", ExpiresAt: exp, Labels: map[string]string{"k": "v"}}))
		got, err := s.Get(ctx, "https://x", "a")
		if err != nil || got.Value != "v1" || got.Vendor != "acme" || !got.ExpiresAt.Equal(exp) || got.Labels["k"] != "v" || got.State != store.Current || got.CreatedAt.IsZero() {
			t.Fatalf("get: %+v %v", got, err)
		}
	})

	t.Run("a new value rotates, the same value does not", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "v1"}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "v1", Vendor: "again"}))
		vs, _ := s.Versions(ctx, "", "a")
		if len(vs) != 1 || vs[0].Vendor != "again" || !vs[0].RotatedAt.IsZero() {
			t.Fatalf("same value: %+v", vs)
		}
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "v2"}))
		got, _ := s.Get(ctx, "", "a")
		if got.Value != "v2" || got.RotatedAt.IsZero() {
			t.Fatalf("after rotation: %+v", got)
		}
		vs, _ = s.Versions(ctx, "", "a")
		if len(vs) != 2 || vs[0].Value != "v2" || vs[1].Value != "v1" || vs[1].State != store.Previous {
			t.Fatalf("versions: %+v", vs)
		}
	})

	t.Run("pending then promote", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "old"}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "new", State: store.Pending}))
		if got, _ := s.Get(ctx, "", "a"); got.Value != "old" {
			t.Fatalf("pending replaced current: %+v", got)
		}
		must(t, s.Promote(ctx, "", "a"))
		got, _ := s.Get(ctx, "", "a")
		if got.Value != "new" || got.RotatedAt.IsZero() {
			t.Fatalf("after promote: %+v", got)
		}
		vs, _ := s.Versions(ctx, "", "a")
		var prev store.Token
		for _, v := range vs {
			if v.Value == "old" {
				prev = v
			}
		}
		if prev.State != store.Previous {
			t.Fatalf("old version: %+v", prev)
		}
		must(t, s.SetState(ctx, prev.ID, store.Revoked))
		if err := s.Promote(ctx, "", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("promote with nothing pending: %v", err)
		}
	})

	t.Run("pending twice is one version; the same value is not rotated", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "old"}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "new", State: store.Pending}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "new", State: store.Pending, Vendor: "v"}))
		if vs, _ := s.Versions(ctx, "", "a"); len(vs) != 2 {
			t.Fatalf("versions: %+v", vs)
		}
		must(t, s.Promote(ctx, "", "a"))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "new", State: store.Pending}))
		must(t, s.Promote(ctx, "", "a"))
		vs, _ := s.Versions(ctx, "", "a")
		if len(vs) != 2 {
			t.Fatalf("same value promoted: %+v", vs)
		}
		got, _ := s.Get(ctx, "", "a")
		if got.Value != "new" {
			t.Fatalf("current: %+v", got)
		}
	})

	t.Run("two targets never overwrite each other", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Put(ctx, store.Token{Target: "east", Name: "acme/ci-bot/main", Value: "east-1"}))
		must(t, s.Put(ctx, store.Token{Target: "west", Name: "acme/ci-bot/main", Value: "west-1"}))
		must(t, s.Put(ctx, store.Token{Target: "west", Name: "acme/ci-bot/main", Value: "west-2", State: store.Pending}))
		must(t, s.Promote(ctx, "west", "acme/ci-bot/main"))
		east, err := s.Get(ctx, "east", "acme/ci-bot/main")
		if err != nil || east.Value != "east-1" || east.State != store.Current {
			t.Fatalf("east after west rotated: %+v %v", east, err)
		}
		if vs, _ := s.Versions(ctx, "east", "acme/ci-bot/main"); len(vs) != 1 {
			t.Fatalf("east versions: %+v", vs)
		}
		if _, err := s.Get(ctx, "", "acme/ci-bot/main"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a name without its target resolved: %v", err)
		}
		must(t, s.Delete(ctx, "west", "acme/ci-bot/main"))
		if _, err := s.Get(ctx, "east", "acme/ci-bot/main"); err != nil {
			t.Fatalf("deleting west removed east: %v", err)
		}
		l, _ := s.List(ctx)
		if len(l) != 1 || l[0].Target != "east" {
			t.Fatalf("list: %+v", l)
		}
	})

	t.Run("list and delete", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Put(ctx, store.Token{Name: "b", Value: "1"}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "1"}))
		must(t, s.Put(ctx, store.Token{Name: "a", Value: "2"}))
		l, _ := s.List(ctx)
		if len(l) != 2 || l[0].Name != "a" || l[1].Name != "b" {
			t.Fatalf("list: %+v", l)
		}
		must(t, s.Delete(ctx, "", "a"))
		if err := s.Delete(ctx, "", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if vs, _ := s.Versions(ctx, "", "a"); len(vs) != 0 {
			t.Fatalf("versions after delete: %+v", vs)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
