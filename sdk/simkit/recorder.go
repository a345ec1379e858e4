package simkit

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Entry is one request a simulator received.
type Entry struct {
	Method   string
	Path     string
	RawQuery string
	Status   int // status answered; 0 when the connection was dropped without an answer
	Write    bool
	Time     time.Time // when it arrived, by the recorder's clock (wall time when none)
}

// Recorder keeps what a simulator received, so tests can assert on it ("zero writes"). The
// zero value is ready to use and stamps entries with wall time. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	clock   *Clock
	isWrite func(*http.Request) bool
	entries []Entry
}

// NewRecorder returns a recorder that stamps entries with clock (wall time when nil).
func NewRecorder(clock *Clock) *Recorder {
	return &Recorder{clock: clock}
}

// ClassifyWrites sets how the recorder decides that a request changes state, which is what
// [Entry.Write] and [Recorder.Writes] report. By default, every method but GET and HEAD is a
// write; a vendor whose queries or logins are POSTs can say they are reads. nil restores the
// default.
func (r *Recorder) ClassifyWrites(isWrite func(*http.Request) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.isWrite = isWrite
}

// IsWriteMethod is the default write classification: any method but GET and HEAD.
func IsWriteMethod(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// Middleware records the method, path, query and answered status of every request.
func (r *Recorder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		clock, isWrite := r.clock, r.isWrite
		r.mu.Unlock()
		e := Entry{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery}
		if clock != nil {
			e.Time = clock.Now()
		} else {
			e.Time = time.Now()
		}
		if isWrite != nil {
			e.Write = isWrite(req)
		} else {
			e.Write = IsWriteMethod(req.Method)
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Runs also when the handler panics (http.ErrAbortHandler after a dropped connection).
			e.Status = sw.status
			r.mu.Lock()
			r.entries = append(r.entries, e)
			r.mu.Unlock()
		}()
		next.ServeHTTP(sw, req)
		if sw.status == 0 && !sw.hijacked {
			sw.status = http.StatusOK // the handler wrote nothing: net/http answers 200
		}
	})
}

// Entries returns a copy of the recorded requests in the order they completed.
func (r *Recorder) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}

// Count returns how many recorded requests have the method ("" = any) and a path starting with
// pathPrefix.
func (r *Recorder) Count(method, pathPrefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.entries {
		if (method == "" || strings.EqualFold(method, e.Method)) && strings.HasPrefix(e.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// Writes returns how many recorded requests were writes (see [Recorder.ClassifyWrites]).
func (r *Recorder) Writes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.entries {
		if e.Write {
			n++
		}
	}
	return n
}

// Reset forgets every recorded request.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = nil
}

// statusWriter remembers the status written through it. Unwrap lets http.ResponseController
// reach the underlying writer (Flush, Hijack, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands over the connection (HTTP/1.x only) and notes that no status will be answered.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}
