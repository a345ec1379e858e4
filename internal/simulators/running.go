package simulators

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Running is a started simulator.
type Running struct {
	Entry
	// Name is the instance's name: the vendor in a Set, <vendor>-<NNN> in
	// a Fleet.
	Name string
	Sim  simkit.Simulator
	// Server serves Sim. A Fleet replaces it when an unreachable or hung
	// instance is healed; its URL stays the same.
	Server *simkit.Server
	// Files are the files Setup wrote, by flow variable (key_file -> path).
	Files map[string]string
	// Flags are the flow flags using Files ("--var key_file=...").
	Flags string

	addr  string    // the listener's address, kept across faults
	front *front    // what Server serves: Sim's handler, or a fault's
	fault FaultKind // guarded by the Fleet's mutex
	alt   simkit.Simulator
	hold  io.Closer // the port reservation of an unreachable instance
	hung  *hungListener
}

// front is the handler an instance's server serves, switchable so that a
// fault can answer in the simulator's place without a restart.
type front struct{ h atomic.Pointer[http.Handler] }

func newFront(h http.Handler) *front {
	f := &front{}
	f.set(h)
	return f
}

func (f *front) set(h http.Handler) { f.h.Store(&h) }

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*f.h.Load()).ServeHTTP(w, r) }

// shared is what every simulator of a Set or a Fleet shares: the clock, the
// CA and one server certificate (minting a certificate per server would
// dominate the start of a large fleet).
type shared struct {
	CA     *simkit.CA // nil when serving plain HTTP
	CAFile string     // the CA certificate written for clients
	Clock  *simkit.Clock

	tlsCfg *tls.Config
}

func newShared(useTLS bool, dir string, clock *simkit.Clock) (shared, error) {
	if clock == nil {
		clock = simkit.NewRealClock()
	}
	sh := shared{Clock: clock}
	if !useTLS {
		return sh, nil
	}
	ca, err := simkit.NewCA()
	if err != nil {
		return shared{}, err
	}
	if sh.tlsCfg, err = ca.ServerTLSConfig(); err != nil {
		return shared{}, err
	}
	sh.CA = ca
	sh.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return shared{}, fmt.Errorf("create the simulator directory: %w", err)
	}
	if err := ca.WriteCertFile(sh.CAFile); err != nil {
		return shared{}, err
	}
	return sh, nil
}

// start builds and serves one simulator of e; Setup files go to setupDir.
func (sh *shared) start(e Entry, name, setupDir string) (*Running, error) {
	sim := e.New(sh.Clock)
	r := &Running{Entry: e, Name: name, Sim: sim, front: newFront(sim.Handler())}
	if err := sh.serve(r, ""); err != nil {
		return nil, fmt.Errorf("start %s simulator: %w", name, err)
	}
	advertise(sim, r.Server.URL)
	if e.Setup != nil {
		if err := os.MkdirAll(setupDir, 0o700); err != nil {
			r.close()
			return nil, fmt.Errorf("prepare %s simulator: %w", name, err)
		}
		files, err := e.Setup(sim, setupDir)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("prepare %s simulator: %w", name, err)
		}
		r.Files = files
		r.Flags = varFlags(files)
	}
	return r, nil
}

// serve starts r's server on addr ("" = a free loopback port).
func (sh *shared) serve(r *Running, addr string) error {
	srv, err := simkit.Serve(r.front, simkit.ServerOptions{CA: sh.CA, TLSConfig: sh.tlsCfg, Addr: addr})
	if err != nil {
		return err
	}
	r.Server, r.addr = srv, srv.Addr
	return nil
}

// advertise tells a simulator that hands out URLs of its own (a token
// endpoint, say) where it listens.
func advertise(sim simkit.Simulator, url string) {
	if a, ok := sim.(interface{ SetAdvertisedHost(string) }); ok {
		a.SetAdvertisedHost(strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"))
	}
}

func varFlags(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "--var "+k+"="+vars[k])
	}
	return strings.Join(parts, " ")
}

// close stops whatever r is serving: its server, or a fault's listener or
// port reservation.
func (r *Running) close() {
	if r.Server != nil {
		_ = r.Server.Close()
	}
	if r.hung != nil {
		r.hung.Close()
		r.hung = nil
	}
	if r.hold != nil {
		_ = r.hold.Close()
		r.hold = nil
	}
}
