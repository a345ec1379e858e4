// Package simulators lists the vendor simulators tokenflow ships and starts
// them on loopback, for `tokenflow sim`, `tokenflow demo` and tests: one of
// each vendor (Start) or a fleet of many (StartFleet).
package simulators

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"

	bigipsim "github.com/tokenflow/tokenflow/plugins/bigip/sim"
	hxsim "github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	turbosim "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	vcfsim "github.com/tokenflow/tokenflow/plugins/vcf/sim"
	vigilessim "github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Entry describes one shipped simulator.
type Entry struct {
	Vendor string
	// New builds a simulator with its default accounts on the given clock.
	New func(clock *simkit.Clock) simkit.Simulator
	// NewWithPassword builds one whose default account (Username) has
	// another password (Vigiles: another key), for FaultWrongPassword.
	NewWithPassword func(clock *simkit.Clock, password string) simkit.Simulator
	// Username and Password are the default account, printed by `sim`.
	Username, Password string
	// PasswordEnv is the variable the shipped flows read the password from.
	PasswordEnv string
	// Setup, when set, prepares what a client needs besides the URL (a key
	// file, say) in dir and returns the flow variables naming the files it
	// wrote (key_file -> path). Those files are credentials.
	Setup func(sim simkit.Simulator, dir string) (files map[string]string, err error)
}

// All is every shipped simulator, by vendor name.
var All = []Entry{
	{
		Vendor: "vcf",
		New:    func(c *simkit.Clock) simkit.Simulator { return vcfsim.New(vcfsim.Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			return vcfsim.New(vcfsim.Config{Clock: c, Users: map[string]string{vcfsim.DefaultUser: pw}})
		},
		Username: vcfsim.DefaultUser, Password: vcfsim.DefaultPassword, PasswordEnv: "VCF_PASSWORD",
	},
	{
		Vendor: "hyperflex",
		New:    func(c *simkit.Clock) simkit.Simulator { return hxsim.New(hxsim.Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			accounts := slices.Clone(hxsim.DefaultAccounts)
			for i := range accounts {
				if accounts[i].Username == hxsim.DefaultUser {
					accounts[i].Password = pw
				}
			}
			return hxsim.New(hxsim.Config{Clock: c, Accounts: accounts})
		},
		Username: hxsim.DefaultUser, Password: hxsim.DefaultPassword, PasswordEnv: "HX_PASSWORD",
	},
	{
		Vendor: "bigip",
		New:    func(c *simkit.Clock) simkit.Simulator { return bigipsim.New(bigipsim.Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			users := slices.Clone(bigipsim.DefaultUsers)
			for i := range users {
				if users[i].Name == bigipsim.DefaultUser {
					users[i].Password = pw
				}
			}
			return bigipsim.New(bigipsim.Config{Clock: c, Users: users})
		},
		Username: bigipsim.DefaultUser, Password: bigipsim.DefaultPassword, PasswordEnv: "BIGIP_PASSWORD",
	},
	{
		Vendor: "turbonomic",
		New:    func(c *simkit.Clock) simkit.Simulator { return turbosim.New(turbosim.Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			return turbosim.New(turbosim.Config{Clock: c, Users: []turbosim.User{
				{Username: turbosim.DefaultUser, Password: pw, RoleName: "ADMINISTRATOR"},
			}})
		},
		Username: turbosim.DefaultUser, Password: turbosim.DefaultPassword, PasswordEnv: "TURBO_PASSWORD",
	},
	{
		Vendor: "vigiles",
		New:    func(c *simkit.Clock) simkit.Simulator { return vigilessim.New(vigilessim.Config{Clock: c}) },
		// The key file written at start keeps the default key, so requests
		// signed with it fail.
		NewWithPassword: func(c *simkit.Clock, key string) simkit.Simulator {
			return vigilessim.New(vigilessim.Config{Clock: c, Users: map[string]string{vigilessim.DefaultEmail: key}})
		},
		// Vigiles signs requests with the key of a key file instead of a
		// password.
		Username: vigilessim.DefaultEmail, Password: "(key file)",
		Setup: func(sim simkit.Simulator, dir string) (map[string]string, error) {
			path := filepath.Join(dir, "linuxlink_key")
			if err := sim.(*vigilessim.Sim).WriteKeyFile(path, vigilessim.DefaultEmail); err != nil {
				return nil, err
			}
			return map[string]string{"key_file": path}, nil
		},
	},
}

// Lookup returns the entry of a vendor.
func Lookup(vendor string) (Entry, bool) {
	for _, e := range All {
		if e.Vendor == vendor {
			return e, true
		}
	}
	return Entry{}, false
}

// Vendors lists the vendor names.
func Vendors() []string {
	out := make([]string, 0, len(All))
	for _, e := range All {
		out = append(out, e.Vendor)
	}
	sort.Strings(out)
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
// dir/ca.pem. Setup files (the Vigiles key file) go to dir.
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
