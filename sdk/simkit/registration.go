package simkit

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Registration is what tokenflow needs to serve a vendor's simulator: how to build one, its
// default account, and what the vendor's shipped flows need besides a URL to run against it.
// A vendor's simulator package exports one (plugins/<vendor>/sim: Registration), which
// `tokenflow sim`, `tokenflow demo` and the plugin binary's --simulate mode (sdk.WithSimulator)
// all read, so a vendor is described once, in its own folder.
type Registration struct {
	// Vendor is the plugin name: "acme".
	Vendor string
	// New builds a simulator with its default accounts on the given clock.
	New func(clock *Clock) Simulator
	// NewWithPassword, when set, builds one whose default account (Username) has another
	// password (or key): a fleet's wrong-password fault answers with it, so the refusal is
	// the vendor's own.
	NewWithPassword func(clock *Clock, password string) Simulator
	// Username and Password are the default account, printed by `tokenflow sim` (they protect
	// nothing real). Password may be a description ("(key file)") when Setup writes the
	// credential instead.
	Username, Password string
	// PasswordEnv is the variable the shipped flows read Password from ("ACME_PASSWORD").
	PasswordEnv string
	// Setup, when set, prepares what a client needs besides the URL (a key file, say) in dir
	// and returns the flow variables naming the files it wrote (key_file -> path). Those files
	// are credentials.
	Setup func(sim Simulator, dir string) (files map[string]string, err error)

	// ExampleFlow is a shipped flow, relative to the flows directory ("acme/onboard.star"),
	// that `tokenflow sim` suggests running against the simulator.
	ExampleFlow string
	// FlowVars are the flow variables the shipped flows need, with values that work against
	// the simulator's default data (a fleet inventory sets them on the vendor's group).
	FlowVars map[string]string
	// TargetVars, when set, returns per-instance flow variables (a file the flow writes);
	// dir is the instance's own directory.
	TargetVars func(dir string) map[string]string
	// Env are credentials besides PasswordEnv that the shipped flows read, each with a value
	// the simulator accepts (a password for an account the flow creates).
	Env map[string]string

	// Knobs names the settings Tune understands, each with a one-line description, for
	// `tokenflow sim --set VENDOR.KEY=VALUE`.
	Knobs map[string]string
	// Tune applies one knob to a running simulator built by New.
	Tune func(sim Simulator, key, value string) error
}

// Validate reports what a registration lacks.
func (r Registration) Validate() error {
	if r.Vendor == "" {
		return fmt.Errorf("simkit: a registration needs a Vendor (the plugin name)")
	}
	if r.New == nil {
		return fmt.Errorf("simkit: registration %q needs New", r.Vendor)
	}
	if len(r.Knobs) > 0 && r.Tune == nil {
		return fmt.Errorf("simkit: registration %q names Knobs but has no Tune", r.Vendor)
	}
	return nil
}

// commonKnobs are understood by every simulator, through its Faults.
var commonKnobs = map[string]string{
	"write_latency": `delay every POST, PUT, PATCH and DELETE by a duration ("2s"), so a write is in flight long enough to kill a process during it`,
}

// ApplyKnob applies key=value to sim through Tune (or, for a common knob, its Faults),
// refusing keys it does not know with the list of those it does.
func (r Registration) ApplyKnob(sim Simulator, key, value string) error {
	if key == "write_latency" {
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 || d > time.Hour {
			return fmt.Errorf("%s.%s=%s: want a duration such as 2s or 500ms, at most 1h", r.Vendor, key, value)
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			sim.Faults().Add(Fault{Method: m, Latency: d})
		}
		return nil
	}
	if _, ok := r.Knobs[key]; !ok || r.Tune == nil {
		return fmt.Errorf("the %s simulator has no setting %q (have: %s)", r.Vendor, key, r.KnobList())
	}
	if err := r.Tune(sim, key, value); err != nil {
		return fmt.Errorf("%s.%s=%s: %w", r.Vendor, key, value, err)
	}
	return nil
}

// KnobList lists the knob names (the common ones included), sorted and comma-separated.
func (r Registration) KnobList() string {
	keys := make([]string, 0, len(r.Knobs)+len(commonKnobs))
	for k := range r.Knobs {
		keys = append(keys, k)
	}
	for k := range commonKnobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
