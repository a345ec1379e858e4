package sdk

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// SimulateEnv, set to any non-empty value, starts a plugin binary built with WithSimulator
// as its simulator, like the --simulate flag.
const SimulateEnv = "TOKENFLOW_PLUGIN_SIMULATE"

// WithSimulator lets the plugin binary serve its own vendor simulator:
//
//	tokenflow-plugin-acme --simulate [--addr 127.0.0.1:0] [--plain-http] [--dir DIR] [--set KEY=VALUE] [--json]
//
// serves reg's simulator on loopback until interrupted, printing its URL and default
// account. `tokenflow sim acme` runs this for a vendor that is not shipped with tokenflow,
// so an out-of-tree plugin's simulator needs no copy of tokenflow's code.
func WithSimulator(reg simkit.Registration) ServeOption {
	return func(c *serveConfig) { c.simulator = &reg }
}

// SimulatorInfo is what --simulate --json prints, one line on stdout, once the simulator
// listens. The password is the simulator's default one: it protects nothing real.
type SimulatorInfo struct {
	Vendor      string            `json:"vendor"`
	URL         string            `json:"url"`
	Username    string            `json:"username,omitempty"`
	Password    string            `json:"password,omitempty"`
	PasswordEnv string            `json:"password_env,omitempty"`
	CAFile      string            `json:"ca_file,omitempty"`
	Files       map[string]string `json:"files,omitempty"`
	ExampleFlow string            `json:"example_flow,omitempty"`
	FlowVars    map[string]string `json:"flow_vars,omitempty"`
}

// maybeSimulate is Serve's hook: when the binary was asked to simulate, it serves the
// simulator and returns its exit code and true; otherwise it returns false at once.
func maybeSimulate(name string, cfg *serveConfig) (int, bool) {
	args := os.Args[1:]
	asked := os.Getenv(SimulateEnv) != ""
	for _, a := range args {
		if a == "--simulate" || a == "-simulate" {
			asked = true
		}
	}
	if !asked {
		return 0, false
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	return runSimulator(name, cfg.simulator, args, os.Stdout, os.Stderr, stop), true
}

// runSimulator serves reg until stop receives, and returns the process's exit code.
func runSimulator(name string, reg *simkit.Registration, args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	prog := "tokenflow-plugin-" + name
	if reg == nil {
		fmt.Fprintf(stderr, "%s: this plugin has no simulator (its main does not pass sdk.WithSimulator to sdk.Serve)\n", prog)
		return 2
	}
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("simulate", true, "serve the vendor simulator")
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	plain := fs.Bool("plain-http", false, "serve plain HTTP instead of HTTPS")
	dir := fs.String("dir", "", "directory for the CA certificate and setup files (default: a new temporary directory)")
	asJSON := fs.Bool("json", false, "print the simulator's details as one JSON line")
	var sets []string
	fs.Func("set", "tune the simulator: KEY=VALUE (repeatable)", func(s string) error { sets = append(sets, s); return nil })
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := reg.Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", prog+"-sim-")
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	info, srv, err := startSimulator(*reg, *addr, *plain, *dir, sets)
	if err != nil {
		fmt.Fprintf(stderr, "%s --simulate: %v\n", prog, err)
		return 1
	}
	defer srv.Close()
	if *asJSON {
		b, _ := json.Marshal(info)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		writeSimulatorInfo(stdout, info)
	}
	<-stop
	return 0
}

// startSimulator builds, tunes and serves reg's simulator.
func startSimulator(reg simkit.Registration, addr string, plain bool, dir string, sets []string) (SimulatorInfo, *simkit.Server, error) {
	sim := reg.New(simkit.NewRealClock())
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return SimulatorInfo{}, nil, fmt.Errorf("--set %q: want KEY=VALUE", s)
		}
		if err := reg.ApplyKnob(sim, k, v); err != nil {
			return SimulatorInfo{}, nil, err
		}
	}
	info := SimulatorInfo{Vendor: reg.Vendor, Username: reg.Username, Password: reg.Password, PasswordEnv: reg.PasswordEnv,
		ExampleFlow: reg.ExampleFlow, FlowVars: reg.FlowVars}
	opts := simkit.ServerOptions{Addr: addr}
	if !plain {
		ca, err := simkit.NewCA()
		if err != nil {
			return SimulatorInfo{}, nil, err
		}
		info.CAFile = filepath.Join(dir, reg.Vendor+"-ca.pem")
		if err := ca.WriteCertFile(info.CAFile); err != nil {
			return SimulatorInfo{}, nil, err
		}
		opts.CA = ca
	}
	srv, err := simkit.Serve(sim.Handler(), opts)
	if err != nil {
		return SimulatorInfo{}, nil, err
	}
	info.URL = srv.URL
	// A simulator that hands out URLs of its own must know where it listens.
	if a, ok := sim.(interface{ SetAdvertisedHost(string) }); ok {
		a.SetAdvertisedHost(srv.Addr)
	}
	if reg.Setup != nil {
		files, err := reg.Setup(sim, dir)
		if err != nil {
			_ = srv.Close()
			return SimulatorInfo{}, nil, fmt.Errorf("prepare the simulator: %w", err)
		}
		info.Files = files
	}
	return info, srv, nil
}

func writeSimulatorInfo(w io.Writer, info SimulatorInfo) {
	fmt.Fprintf(w, "%s simulator: %s\n", info.Vendor, info.URL)
	if info.Username != "" {
		fmt.Fprintf(w, "  user:     %s\n  password: %s", info.Username, info.Password)
		if info.PasswordEnv != "" {
			fmt.Fprintf(w, " (the flows read it from %s)", info.PasswordEnv)
		}
		fmt.Fprintln(w)
	}
	if info.CAFile != "" {
		fmt.Fprintf(w, "  CA:       %s\n", info.CAFile)
	}
	keys := make([]string, 0, len(info.Files))
	for k := range info.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  --var %s=%s\n", k, info.Files[k])
	}
	fmt.Fprintln(w, "Serving until Ctrl-C.")
}
