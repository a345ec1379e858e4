// Package simulators lists the vendor simulators tokenflow ships and starts
// them on loopback, for `tokenflow sim`, `tokenflow demo` and tests.
package simulators

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	// Username and Password are the default account, printed by `sim`.
	Username, Password string
	// PasswordEnv is the variable the shipped flows read the password from.
	PasswordEnv string
	// Setup, when set, prepares what a client needs besides the URL (a key
	// file, say) in dir and returns the flow flags that use it.
	Setup func(sim simkit.Simulator, dir string) (flags string, err error)
}

// All is every shipped simulator, by vendor name.
var All = []Entry{
	{
		Vendor:   "vcf",
		New:      func(c *simkit.Clock) simkit.Simulator { return vcfsim.New(vcfsim.Config{Clock: c}) },
		Username: vcfsim.DefaultUser, Password: vcfsim.DefaultPassword, PasswordEnv: "VCF_PASSWORD",
	},
	{
		Vendor:   "hyperflex",
		New:      func(c *simkit.Clock) simkit.Simulator { return hxsim.New(hxsim.Config{Clock: c}) },
		Username: hxsim.DefaultUser, Password: hxsim.DefaultPassword, PasswordEnv: "HX_PASSWORD",
	},
	{
		Vendor:   "bigip",
		New:      func(c *simkit.Clock) simkit.Simulator { return bigipsim.New(bigipsim.Config{Clock: c}) },
		Username: bigipsim.DefaultUser, Password: bigipsim.DefaultPassword, PasswordEnv: "BIGIP_PASSWORD",
	},
	{
		Vendor:   "turbonomic",
		New:      func(c *simkit.Clock) simkit.Simulator { return turbosim.New(turbosim.Config{Clock: c}) },
		Username: turbosim.DefaultUser, Password: turbosim.DefaultPassword, PasswordEnv: "TURBO_PASSWORD",
	},
	{
		Vendor: "vigiles",
		New:    func(c *simkit.Clock) simkit.Simulator { return vigilessim.New(vigilessim.Config{Clock: c}) },
		// Vigiles signs requests with the key of a key file instead of a
		// password.
		Username: vigilessim.DefaultEmail, Password: "(key file)",
		Setup: func(sim simkit.Simulator, dir string) (string, error) {
			path := filepath.Join(dir, "linuxlink_key")
			if err := sim.(*vigilessim.Sim).WriteKeyFile(path, vigilessim.DefaultEmail); err != nil {
				return "", err
			}
			return "--var key_file=" + path, nil
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

// Running is a started simulator.
type Running struct {
	Entry
	Sim    simkit.Simulator
	Server *simkit.Server
	// Flags are extra flow flags Setup prepared ("--var key_file=...").
	Flags string
}

// Set is a group of running simulators sharing one CA.
type Set struct {
	CA     *simkit.CA // nil when serving plain HTTP
	CAFile string     // the CA certificate written for clients
	Clock  *simkit.Clock
	Sims   []*Running
	dir    string
}

// Start starts the named simulators (all when vendors is empty) on
// loopback, sharing one clock (nil: a real clock). With tls, each serves
// HTTPS with a certificate from one fresh CA whose PEM is written to
// dir/ca.pem.
func Start(vendors []string, tls bool, dir string, clock *simkit.Clock) (*Set, error) {
	if len(vendors) == 0 {
		vendors = Vendors()
	}
	if clock == nil {
		clock = simkit.NewRealClock()
	}
	set := &Set{dir: dir, Clock: clock}
	if tls {
		ca, err := simkit.NewCA()
		if err != nil {
			return nil, err
		}
		set.CA = ca
		set.CAFile = filepath.Join(dir, "ca.pem")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := ca.WriteCertFile(set.CAFile); err != nil {
			return nil, err
		}
	}
	for _, v := range vendors {
		e, ok := Lookup(v)
		if !ok {
			set.Close()
			return nil, fmt.Errorf("no simulator for %q (have: %v)", v, Vendors())
		}
		sim := e.New(clock)
		srv, err := simkit.Serve(sim.Handler(), simkit.ServerOptions{CA: set.CA})
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("start %s simulator: %w", v, err)
		}
		// A simulator that hands out URLs of its own (VCF's token endpoint)
		// learns where it listens.
		if a, ok := sim.(interface{ SetAdvertisedHost(string) }); ok {
			a.SetAdvertisedHost(strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://"))
		}
		running := &Running{Entry: e, Sim: sim, Server: srv}
		if e.Setup != nil {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				set.Close()
				return nil, err
			}
			if running.Flags, err = e.Setup(sim, dir); err != nil {
				set.Close()
				return nil, fmt.Errorf("prepare %s simulator: %w", v, err)
			}
		}
		set.Sims = append(set.Sims, running)
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
		r.Server.Close()
	}
}
