package simulators

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Fleet is many independent instances of the simulators, each with its own
// state and loopback listener, sharing one CA and one clock: a fleet of
// appliances with no appliance.
type Fleet struct {
	shared
	// Instances are in vendor order, then by number.
	Instances []*Running

	dir    string
	mu     sync.Mutex // guards the instances' faults and servers
	byName map[string]*Running
}

// StartFleet starts n instances of each named simulator (all when vendors is
// empty), named <vendor>-<NNN> (numbered from 1, zero-padded to the width of
// n), sharing one clock (nil: a real clock). With tls they serve HTTPS with one
// certificate from a fresh CA written to dir/ca.pem. An instance's Setup files
// (a key file, say) go to dir/<name>/.
func StartFleet(vendors []string, n int, tls bool, dir string, clock *simkit.Clock) (*Fleet, error) {
	if n < 1 {
		return nil, fmt.Errorf("a fleet needs at least 1 instance per vendor, got %d", n)
	}
	es, err := entries(vendors)
	if err != nil {
		return nil, err
	}
	// The inventory names files relative to its own directory: it needs
	// absolute paths to compute that.
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("fleet directory: %w", err)
	}
	sh, err := newShared(tls, dir, clock)
	if err != nil {
		return nil, err
	}
	f := &Fleet{shared: sh, dir: dir, byName: make(map[string]*Running, n*len(es))}
	width := len(strconv.Itoa(n))
	for _, e := range es {
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("%s-%0*d", e.Vendor, width, i)
			r, err := f.start(e, name, filepath.Join(dir, name))
			if err != nil {
				f.Close()
				return nil, err
			}
			f.Instances = append(f.Instances, r)
			f.byName[name] = r
		}
	}
	return f, nil
}

// Get returns the instance of that name, or nil.
func (f *Fleet) Get(name string) *Running { return f.byName[name] }

// Counts returns how many instances each vendor has.
func (f *Fleet) Counts() map[string]int {
	out := map[string]int{}
	for _, r := range f.Instances {
		out[r.Vendor]++
	}
	return out
}

// Close stops every instance, hung and unreachable ones included.
func (f *Fleet) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range f.Instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.close()
		}()
	}
	wg.Wait()
}

// lookup returns the named instance or an error listing a few names.
func (f *Fleet) lookup(name string) (*Running, error) {
	if r := f.byName[name]; r != nil {
		return r, nil
	}
	names := make([]string, 0, len(f.byName))
	for n := range f.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return nil, fmt.Errorf("no fleet instance %q (have: %v)", name, names)
}
