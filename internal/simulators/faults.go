package simulators

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// FaultKind is how a fleet instance misbehaves.
type FaultKind int

const (
	// FaultNone is a healthy instance; setting it heals any fault.
	FaultNone FaultKind = iota
	// FaultError500 answers every request 500, like an appliance whose
	// services are down behind a working web server.
	FaultError500
	// FaultWrongPassword refuses the default account's password (or
	// the key in the written key file), answering as the vendor does.
	FaultWrongPassword
	// FaultUnreachable closes the listener: connections are refused. The
	// port stays reserved (bound, not listening) so nothing else takes it.
	FaultUnreachable
	// FaultHang accepts connections and never answers, not even a TLS
	// handshake: a client sees only its own timeout.
	FaultHang
)

var faultNames = []string{"none", "error500", "wrong-password", "unreachable", "hang"}

func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// ParseFaultKind parses a fault's String form.
func ParseFaultKind(s string) (FaultKind, error) {
	for i, n := range faultNames {
		if n == s {
			return FaultKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown fault %q (have: %v)", s, faultNames)
}

// Fault makes the named instance misbehave as kind says, replacing any fault
// it had; FaultNone heals it. The instance keeps its URL and its state.
func (f *Fleet) Fault(name string, kind FaultKind) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.lookup(name)
	if err != nil {
		return err
	}
	if kind < FaultNone || kind > FaultHang {
		return fmt.Errorf("fault %s on %s: unknown kind", kind, name)
	}
	if r.fault == kind {
		return nil
	}
	if err := f.heal(r); err != nil {
		return fmt.Errorf("heal %s (%s): %w", name, r.fault, err)
	}
	if err := f.apply(r, kind); err != nil {
		return fmt.Errorf("fault %s on %s: %w", kind, name, err)
	}
	r.fault = kind
	return nil
}

// FaultOf returns the fault the named instance has (FaultNone for an unknown name).
func (f *Fleet) FaultOf(name string) FaultKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.byName[name]; r != nil {
		return r.fault
	}
	return FaultNone
}

func (f *Fleet) apply(r *Running, kind FaultKind) error {
	switch kind {
	case FaultError500:
		r.front.set(http.HandlerFunc(answer500))
	case FaultWrongPassword:
		if r.NewWithPassword == nil {
			return fmt.Errorf("the %s simulator cannot change its password", r.Vendor)
		}
		// A second simulator with another password answers instead, so the
		// refusal is the vendor's own; the instance's state waits in r.Sim.
		r.alt = r.NewWithPassword(f.Clock, "wrong-"+rand.Text())
		advertise(r.alt, r.Server.URL)
		r.front.set(r.alt.Handler())
	case FaultUnreachable:
		_ = r.Server.Close()
		hold, err := reservePort(r.addr)
		if err != nil {
			return err
		}
		r.hold = hold
	case FaultHang:
		_ = r.Server.Close()
		h, err := listenHung(r.addr)
		if err != nil {
			return err
		}
		r.hung = h
	}
	return nil
}

// heal undoes r's fault, restarting its server on the same address when the
// fault had closed it.
func (f *Fleet) heal(r *Running) error {
	switch r.fault {
	case FaultError500, FaultWrongPassword:
		r.front.set(r.Sim.Handler())
		r.alt = nil
		return nil
	case FaultUnreachable:
		if r.hold != nil {
			_ = r.hold.Close()
			r.hold = nil
		}
	case FaultHang:
		if r.hung != nil {
			r.hung.Close()
			r.hung = nil
		}
	default:
		return nil
	}
	r.fault = FaultNone
	return f.serve(r, r.addr)
}

func answer500(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(`{"error":"simulated fault: internal server error"}` + "\n"))
}

// hungListener accepts connections and holds them, unanswered, until closed.
type hungListener struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func listenHung(addr string) (*hungListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	h := &hungListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	return h, nil
}

// Close stops accepting, closes the held connections and waits for the
// accept loop to end.
func (h *hungListener) Close() {
	_ = h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
}
