package hostnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/redact"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"
)

// CassetteMode says whether a cassette records or replays.
type CassetteMode int

const (
	Record CassetteMode = iota + 1
	Replay
)

// Cassette records a run's exchanges to a file or answers from one, with
// go-vcr. Secrets never reach the file: before saving, every value the run
// knows to be secret and every credential header is replaced by the mask, and
// matching compares redacted forms, so a replay matches whatever secrets the
// replaying run uses. Matching ignores scheme, host and port, so a cassette
// recorded against a simulator on a random port replays anywhere.
type Cassette struct {
	path string
	mode CassetteMode
	red  *redact.Redactor

	rec *recorder.Recorder

	// ids numbers the secrets a recording holds, in order of appearance.
	ids map[string]int
}

// A cassette saves its n-th secret as __tokenflow_secret_<n>__: distinct per
// secret, so a replay still tells two tokens apart, and made of characters
// that survive URL and JSON escaping. Matching treats every placeholder as
// the mask.
var secretPlaceholderRE = regexp.MustCompile(`__tokenflow_secret_\d+__`)

func (c *Cassette) placeholder(secret string) string {
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	n, ok := c.ids[secret]
	if !ok {
		n = len(c.ids) + 1
		c.ids[secret] = n
	}
	return fmt.Sprintf("__tokenflow_secret_%d__", n)
}

// hide replaces each secret with its placeholder.
func (c *Cassette) hide(s string) string { return c.red.ReplaceEach(s, c.placeholder) }

// ReplayMissError is a request the cassette does not hold.
type ReplayMissError struct {
	Method, URL, Cassette string
}

func (e *ReplayMissError) Error() string {
	return fmt.Sprintf("replay: no recorded exchange for %s %s in %s (replay never falls back to the network; record the flow again with --record)", e.Method, e.URL, e.Cassette)
}

// CassetteOption changes how OpenCassette opens a cassette.
type CassetteOption func(*cassetteOpts)

type cassetteOpts struct{ allowEdited bool }

// AllowEdited replays a cassette whose integrity hash does not match its
// content (or that has none): the user edited it on purpose.
func AllowEdited() CassetteOption { return func(o *cassetteOpts) { o.allowEdited = true } }

// OpenCassette prepares a cassette at path. Replay requires the file to
// exist and to match the integrity hash Save wrote into it, unless
// AllowEdited; Record overwrites it when the run ends (Save).
func OpenCassette(path string, mode CassetteMode, red *redact.Redactor, opts ...CassetteOption) (*Cassette, error) {
	var o cassetteOpts
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cassette{path: path, mode: mode, red: red}
	vmode := recorder.ModeRecordOnly
	if mode == Replay {
		vmode = recorder.ModeReplayOnly
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("replay cassette: %w", err)
		}
		if err := checkIntegrity(path, data); err != nil && !o.allowEdited {
			return nil, err
		}
	}
	rec, err := recorder.New(path,
		recorder.WithMode(vmode),
		recorder.WithFS(exactFS{}),
		recorder.WithSkipRequestLatency(true),
		recorder.WithMatcher(c.match),
		recorder.WithRealTransport(roundTripFunc(c.real)),
		recorder.WithHook(c.scrub, recorder.BeforeSaveHook),
	)
	if err != nil {
		return nil, fmt.Errorf("open cassette %s: %w", path, err)
	}
	c.rec = rec
	return c, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type innerKey struct{}

// roundTripper returns the cassette in front of the step's real transport.
func (c *Cassette) roundTripper(inner func() (http.RoundTripper, error)) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if c.mode == Record {
			rt, err := inner()
			if err != nil {
				return nil, err
			}
			req = req.WithContext(contextWith(req, rt))
		}
		resp, err := c.rec.RoundTrip(req)
		if err != nil && c.mode == Replay {
			return nil, &ReplayMissError{Method: req.Method, URL: c.red.String(req.URL.Redacted()), Cassette: c.path}
		}
		return resp, err
	})
}

func (c *Cassette) real(req *http.Request) (*http.Response, error) {
	rt, _ := req.Context().Value(innerKey{}).(http.RoundTripper)
	if rt == nil {
		return nil, fmt.Errorf("cassette: no transport for %s %s", req.Method, req.URL.Redacted())
	}
	return rt.RoundTrip(req)
}

// Replaying reports whether the cassette answers instead of the network.
func (c *Cassette) Replaying() bool { return c.mode == Replay }

// Save writes a recording (atomically, mode 0600, with its integrity
// hash). Replay saves nothing.
func (c *Cassette) Save() error {
	if c.mode != Record {
		return nil
	}
	return c.rec.Stop()
}

// normalize is the form both sides of a match are compared in.
func (c *Cassette) normalize(method, rawURL, body string) string {
	u, err := url.Parse(secretPlaceholderRE.ReplaceAllString(c.red.String(rawURL), redact.Mask))
	pathQuery := rawURL
	if err == nil {
		pathQuery = u.EscapedPath() + "?" + u.RawQuery
	}
	return secretPlaceholderRE.ReplaceAllString(method+" "+pathQuery+"\n"+c.red.String(body), redact.Mask)
}

func (c *Cassette) match(r *http.Request, i cassette.Request) bool {
	if r.Method != i.Method {
		return false
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return c.normalize(r.Method, r.URL.String(), string(body)) == c.normalize(i.Method, i.URL, i.Body)
}

// scrub removes secrets and wall-clock noise before the cassette is saved,
// so the file is safe to commit and stable from one recording to the next.
func (c *Cassette) scrub(i *cassette.Interaction) error {
	i.Request.URL = c.hide(i.Request.URL)
	i.Request.RequestURI = c.hide(i.Request.RequestURI)
	i.Request.Body = c.hide(i.Request.Body)
	i.Request.Form = nil
	i.Request.RemoteAddr = ""
	i.Request.Headers = c.scrubHeaders(i.Request.Headers)
	i.Response.Body = c.hide(i.Response.Body)
	i.Response.Headers = c.scrubHeaders(i.Response.Headers)
	i.Response.Headers.Del("Date")
	i.Response.Duration = 0
	return nil
}

func (c *Cassette) scrubHeaders(h http.Header) http.Header {
	out := http.Header{}
	for name, values := range h {
		for _, v := range values {
			out.Add(name, c.red.String(plan.MaskHeader(name, v)))
		}
	}
	return out
}

// exactFS stores the cassette at exactly the path given (go-vcr appends
// ".yaml" to the name), atomically and with mode 0600.
type exactFS struct{}

func (exactFS) path(name string) string { return strings.TrimSuffix(name, ".yaml") }

func (fs exactFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(fs.path(name)) }

func (fs exactFS) WriteFile(name string, data []byte) error {
	p := fs.path(name)
	data = withIntegrity(data)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	t, err := renameio.NewPendingFile(p, renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.CloseAtomicallyReplace()
}

func (fs exactFS) IsFileExists(name string) bool {
	_, err := os.Stat(fs.path(name))
	return err == nil
}

func contextWith(req *http.Request, rt http.RoundTripper) context.Context {
	return context.WithValue(req.Context(), innerKey{}, rt)
}
