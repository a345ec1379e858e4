// Package redact holds the one redactor every output of a run passes
// through: the run log, plugin stderr, plans, cassettes, error messages and
// JSON output.
//
// Add registers a secret; String, Bytes and Writer mask every registered
// secret, together with the encodings in which it commonly leaks: base64
// (standard, URL, raw), URL query and path escaping, and JSON string escaping.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mask is what a secret prints as.
const Mask = "***"

// MinLen is the shortest secret the redactor masks. Shorter values would
// mangle ordinary text ("a", "1") while hiding almost nothing.
const MinLen = 4

// Redactor masks registered secrets. The zero value is not usable; call New.
// It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]bool
	// byPrefix indexes every form of every secret by its first MinLen
	// bytes, longest form first within a bucket. Adding a secret is cheap
	// (a fleet run adds thousands) and masking scans the text once,
	// looking each position up by its prefix; lead is a quick filter on
	// the first two bytes.
	byPrefix map[string][]string
	lead     [1 << 16]bool
}

// New returns an empty redactor.
func New() *Redactor { return &Redactor{secrets: map[string]bool{}, byPrefix: map[string][]string{}} }

// Add registers secret values. Values shorter than MinLen are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLen || r.secrets[v] {
			continue
		}
		r.secrets[v] = true
		for _, f := range Forms(v) {
			if len(f) < MinLen {
				continue
			}
			key := f[:MinLen]
			bucket := append(r.byPrefix[key], f)
			sort.SliceStable(bucket, func(i, j int) bool { return len(bucket[i]) > len(bucket[j]) })
			r.byPrefix[key] = bucket
			r.lead[uint16(f[0])<<8|uint16(f[1])] = true
		}
	}
}

// replace masks every form in s: at each position the longest form that
// starts there wins, and matches do not overlap (strings.Replacer's rule).
// Called with mu held for reading.
func (r *Redactor) replace(s string) string {
	if len(r.byPrefix) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+MinLen <= len(s); {
		if r.lead[uint16(s[i])<<8|uint16(s[i+1])] {
			if f := longestAt(r.byPrefix[s[i:i+MinLen]], s[i:]); f != "" {
				if last == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(Mask)
				i += len(f)
				last = i
				continue
			}
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func longestAt(forms []string, s string) string {
	for _, f := range forms {
		if strings.HasPrefix(s, f) {
			return f
		}
	}
	return ""
}

// Secrets returns the registered secret values (not their encoded forms).
func (r *Redactor) Secrets() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Forms returns the encodings of v the redactor masks: v itself, base64
// (standard, URL-safe, unpadded), URL query and path escaping and the JSON
// string escaping.
func Forms(v string) []string {
	b := []byte(v)
	jsonForm, _ := json.Marshal(v) // escapes <, > and & as \u00XX
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	plainJSON := strings.TrimSuffix(plain.String(), "\n")
	// A JSON string inside a JSON string (a vendor echoing a request body
	// in its error) escapes twice.
	twice, _ := json.Marshal(string(jsonForm[1 : len(jsonForm)-1]))
	plainTwice, _ := json.Marshal(plainJSON[1 : len(plainJSON)-1])
	forms := []string{
		v,
		base64.StdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(v),
		url.PathEscape(v),
		string(jsonForm[1 : len(jsonForm)-1]),
		plainJSON[1 : len(plainJSON)-1],
		string(twice[1 : len(twice)-1]),
		string(plainTwice[1 : len(plainTwice)-1]),
	}
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// String masks every registered secret in s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.replace(s)
}

// ReplaceEach replaces every form of every registered secret in s with
// f(secret), longest forms first; f is called once per secret present, in
// order of first appearance. Cassettes use it to give each secret its own
// stable placeholder, so a replay can still tell two secrets apart.
func (r *Redactor) ReplaceEach(s string, f func(secret string) string) string {
	if r == nil {
		return s
	}
	type hit struct {
		form, secret string
		at           int
	}
	var hits []hit
	r.mu.RLock()
	for sec := range r.secrets {
		for _, form := range Forms(sec) {
			if i := strings.Index(s, form); len(form) >= MinLen && i >= 0 {
				hits = append(hits, hit{form, sec, i})
			}
		}
	}
	r.mu.RUnlock()
	if len(hits) == 0 {
		return s
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].at != hits[j].at {
			return hits[i].at < hits[j].at
		}
		return len(hits[i].form) > len(hits[j].form)
	})
	repl := map[string]string{}
	for _, h := range hits {
		if _, ok := repl[h.secret]; !ok {
			repl[h.secret] = f(h.secret)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if len(hits[i].form) != len(hits[j].form) {
			return len(hits[i].form) > len(hits[j].form)
		}
		return hits[i].form < hits[j].form
	})
	args := make([]string, 0, 2*len(hits))
	for _, h := range hits {
		args = append(args, h.form, repl[h.secret])
	}
	return strings.NewReplacer(args...).Replace(s)
}

// Bytes masks every registered secret in b.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil {
		return b
	}
	return []byte(r.String(string(b)))
}

// Error returns an error whose message is redacted, keeping the original
// error reachable with errors.Unwrap for errors.Is and errors.As.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Writer returns a writer that masks secrets before writing to w. It buffers
// until a newline so a secret split across two writes is still masked.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser { return &lineWriter{r: r, w: w} }

type lineWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	if i := bytes.LastIndexByte(lw.buf, '\n'); i >= 0 {
		out := lw.r.Bytes(lw.buf[:i+1])
		rest := append([]byte(nil), lw.buf[i+1:]...)
		lw.buf = rest
		if _, err := lw.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close flushes a final unterminated line.
func (lw *lineWriter) Close() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) == 0 {
		return nil
	}
	_, err := lw.w.Write(lw.r.Bytes(lw.buf))
	lw.buf = nil
	return err
}
