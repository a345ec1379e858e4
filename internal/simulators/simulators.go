// Package simulators lists the vendor simulators tokenflow ships and starts
// them on loopback, for `tokenflow sim`, `tokenflow demo` and tests: one of
// each vendor (Start) or a fleet of many (StartFleet).
package simulators

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Entry describes one shipped simulator: the registration its vendor's folder exports
// (plugins/<vendor>/sim.Registration).
type Entry = simkit.Registration

var (
	regMu    sync.RWMutex
	registry []Entry
)

// Register adds a vendor's simulator. Each in-tree vendor calls it from its own folder
// (plugins/<vendor>/intree), and internal/intree imports those folders: adding a vendor
// touches no list here. It panics on an invalid or repeated registration, a programming
// error found at start.
func Register(e Entry) {
	if err := e.Validate(); err != nil {
		panic(err)
	}
	regMu.Lock()
	defer regMu.Unlock()
	for _, have := range registry {
		if have.Vendor == e.Vendor {
			panic(fmt.Sprintf("simulators: vendor %q registered twice", e.Vendor))
		}
	}
	registry = append(registry, e)
}

// All returns every registered simulator, by vendor name.
func All() []Entry {
	regMu.RLock()
	defer regMu.RUnlock()
	out := slices.Clone(registry)
	sort.Slice(out, func(i, j int) bool { return out[i].Vendor < out[j].Vendor })
	return out
}

// Lookup returns the entry of a vendor.
func Lookup(vendor string) (Entry, bool) {
	for _, e := range All() {
		if e.Vendor == vendor {
			return e, true
		}
	}
	return Entry{}, false
}

// Vendors lists the vendor names.
func Vendors() []string {
	all := All()
	out := make([]string, 0, len(all))
	for _, e := range all {
		out = append(out, e.Vendor)
	}
	return out
}

// entries resolves vendor names (all when empty), refusing unknown and
// repeated ones before anything starts.
func entries(vendors []string) ([]Entry, error) {
	if len(vendors) == 0 {
		vendors = Vendors()
	}
	out := make([]Entry, 0, len(vendors))
	for i, v := range vendors {
		e, ok := Lookup(v)
		if !ok {
			return nil, fmt.Errorf("no simulator for %q (have: %v)", v, Vendors())
		}
		if slices.Contains(vendors[:i], v) {
			return nil, fmt.Errorf("vendor %q is named twice; name each vendor once", v)
		}
		out = append(out, e)
	}
	return out, nil
}

// Set is a group of running simulators, one per vendor, sharing one CA.
type Set struct {
	shared
	Sims []*Running
}

// Start starts the named simulators (all when vendors is empty) on
// loopback, sharing one clock (nil: a real clock). With tls, each serves
// HTTPS with a certificate from one fresh CA whose PEM is written to
// dir/ca.pem. Setup files (a key file, say) go to dir.
func Start(vendors []string, tls bool, dir string, clock *simkit.Clock) (*Set, error) {
	es, err := entries(vendors)
	if err != nil {
		return nil, err
	}
	sh, err := newShared(tls, dir, clock)
	if err != nil {
		return nil, err
	}
	set := &Set{shared: sh}
	for _, e := range es {
		r, err := set.start(e, e.Vendor, dir)
		if err != nil {
			set.Close()
			return nil, err
		}
		set.Sims = append(set.Sims, r)
	}
	return set, nil
}

// Get returns the running simulator of a vendor.
func (s *Set) Get(vendor string) *Running {
	for _, r := range s.Sims {
		if r.Vendor == vendor {
			return r
		}
	}
	return nil
}

// Close stops every simulator.
func (s *Set) Close() {
	for _, r := range s.Sims {
		r.close()
	}
}
