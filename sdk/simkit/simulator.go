package simkit

import "net/http"

// Simulator is what `tokenflow sim` and `tokenflow demo` start. Each vendor simulator
// (plugins/<vendor>/sim) implements it.
type Simulator interface {
	Vendor() string        // the plugin name: "acme"
	Handler() http.Handler // the full handler, fault and recorder middleware included
	Clock() *Clock         // the simulator's only time source
	Faults() *Faults       // faults injected into every request
	Recorder() *Recorder   // every request received
}

// Wrap returns h behind the fault and recorder middleware, the stack a simulator's Handler
// serves: the recorder is outermost, so it also records the requests a fault answered or
// dropped. Either may be nil.
func Wrap(h http.Handler, f *Faults, r *Recorder) http.Handler {
	if f != nil {
		h = f.Middleware(h)
	}
	if r != nil {
		h = r.Middleware(h)
	}
	return h
}
