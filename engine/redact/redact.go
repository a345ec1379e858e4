// Package redact holds the one redactor every output of a run passes
// through: the run log, plugin stderr, plans, cassettes, error messages and
// JSON output.
//
// Add registers a secret; String, Bytes and Writer mask every registered
// secret, together with the encodings in which a vendor's echo can carry
// it: base64 (standard, URL, raw, and embedded as in basic auth), URL query,
// path and percent-encoding of any byte, JSON and other backslash escapes
// (\uXXXX of any character, \xNN, Go's %q), HTML entities (named, decimal
// and hex), and up to three of these layered.
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
	byPrefix map[string][]form
	lead     [1 << 16]bool
	// spaced: some secret holds a space, so "+" (a space in a form
	// encoding) is worth decoding.
	spaced bool
}

// form is one encoding of a secret.
type form struct{ text, secret string }

// New returns an empty redactor.
func New() *Redactor { return &Redactor{secrets: map[string]bool{}, byPrefix: map[string][]form{}} }

// Add registers secret values. Values shorter than MinLen are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLen || r.secrets[v] {
			continue
		}
		r.secrets[v] = true
		r.spaced = r.spaced || strings.Contains(v, " ")
		for _, f := range Forms(v) {
			if len(f) < MinLen {
				continue
			}
			key := f[:MinLen]
			bucket := r.byPrefix[key]
			// Insert keeping the bucket longest first: linear in the
			// bucket, which holds only forms sharing 4 leading bytes.
			at := sort.Search(len(bucket), func(i int) bool { return len(bucket[i].text) < len(f) })
			bucket = append(bucket, form{})
			copy(bucket[at+1:], bucket[at:])
			bucket[at] = form{f, v}
			r.byPrefix[key] = bucket
			r.lead[uint16(f[0])<<8|uint16(f[1])] = true
		}
	}
}

// span is a stretch [start, end) of the text that holds secret.
type span struct {
	start, end int
	secret     string
}

// match calls hit for every form in s: at each position the longest form
// that starts there wins, and matches do not overlap. Called with mu held.
func (r *Redactor) match(s string, hit func(i, j int, secret string)) {
	for i := 0; i+MinLen <= len(s); {
		if r.lead[uint16(s[i])<<8|uint16(s[i+1])] {
			if f, ok := longestAt(r.byPrefix[s[i:i+MinLen]], s[i:]); ok {
				hit(i, i+len(f.text), f.secret)
				i += len(f.text)
				continue
			}
		}
		i++
	}
}

func longestAt(forms []form, s string) (form, bool) {
	for _, f := range forms {
		if strings.HasPrefix(s, f.text) {
			return f, true
		}
	}
	return form{}, false
}

// spans returns the stretches of s that hold a secret, in order and not
// overlapping: the forms found in s itself and those found once s is
// decoded (HTML entities, backslash escapes, percent-encoding, up to
// three layers deep), mapped back onto s. Called with mu held for reading.
func (r *Redactor) spans(s string) []span {
	if len(r.byPrefix) == 0 {
		return nil
	}
	var out []span
	r.match(s, func(i, j int, sec string) { out = append(out, span{i, j, sec}) })
	r.decodedSpans(s, &out)
	if len(out) < 2 {
		return out
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].start != out[j].start {
			return out[i].start < out[j].start
		}
		return out[i].end > out[j].end
	})
	merged := out[:1]
	for _, sp := range out[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// rewrite replaces each span of s with with(secret).
func rewrite(s string, spans []span, with func(secret string) string) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(with(sp.secret))
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
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

// Forms returns the encodings of v the redactor looks for literally: v
// itself, base64 (standard, URL-safe, unpadded, and the part of it that
// does not depend on what surrounds v, as in base64("user:" + v) for basic
// auth), URL query and path escaping and JSON string escaping (once and
// twice). Encodings with many spellings (HTML entities, \uXXXX and other
// backslash escapes, percent-encoding of any byte in either case) are found
// by decoding the text instead; see String.
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
	forms = append(forms, embeddedBase64(b)...)
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

// minEmbedded is the shortest base64 core masked: four characters (three
// bytes) would match ordinary base64 text too often.
const minEmbedded = 8

// embeddedBase64 returns, for each of the three alignments v can have
// inside a longer base64-encoded string, the characters that encode only
// bytes of v (standard and URL alphabets). The up to two bytes at each end
// that share a character with their neighbours stay visible; the rest of
// v does not.
func embeddedBase64(v []byte) []string {
	var out []string
	for o := 0; o < 3; o++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, o), v...))
		from := 0
		if o > 0 {
			from = 4
		}
		to := 4 * ((o + len(v)) / 3)
		if to-from < minEmbedded {
			continue
		}
		core := enc[from:to]
		out = append(out, core, strings.NewReplacer("+", "-", "/", "_").Replace(core))
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
	return rewrite(s, r.spans(s), func(string) string { return Mask })
}

// ReplaceEach replaces every secret in s, in any encoding String masks,
// with f(secret) instead of the mask; f is called once per stretch, in
// order. Cassettes use it to give each secret its own stable placeholder,
// so a replay can still tell two secrets apart. It masks exactly what
// String masks.
func (r *Redactor) ReplaceEach(s string, f func(secret string) string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	sp := r.spans(s)
	r.mu.RUnlock()
	return rewrite(s, sp, f)
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
