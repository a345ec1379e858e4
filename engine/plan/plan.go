// Package plan is the dry-run plan: what a run would change, step by step.
//
// The engine adds a Step per op call; the host transport adds each request
// of the step, sent (reads) or held (writes, and anything carrying a value
// only known after apply). Unknown values are placeholders in the request
// text, rendered as "(known after apply: <step>.<field>)". WriteText and JSON
// render the plan; every rendering passes through the run's redactor and
// masks credential headers.
package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tokenflow/tokenflow/engine/redact"
)

// Plan collects the steps of a dry-run. Safe for concurrent use.
type Plan struct {
	mu       sync.Mutex
	steps    []*Step
	byID     map[string]*Step
	unknowns []string // label of each placeholder, by index
}

// New returns an empty plan.
func New() *Plan { return &Plan{byID: map[string]*Step{}} }

// Step is one op call or engine action (store.put) in the plan.
type Step struct {
	ID       string    `json:"id"`
	Call     string    `json:"call"`     // "acme.create_api_client"
	Position string    `json:"position"` // file:line of the call
	Effect   string    `json:"effect"`   // read or write
	Action   string    `json:"action"`   // "read", "change" (held), "none"
	Requests []Request `json:"requests"`
	Note     string    `json:"note,omitempty"`
}

// Request is one HTTP request of a step.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers [][2]string       `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Notes   map[string]string `json:"notes,omitempty"`
	Held    bool              `json:"held"`
	Status  int               `json:"status,omitempty"` // answer of a sent request
}

// AddStep starts a step.
func (p *Plan) AddStep(id, call, position, effect string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &Step{ID: id, Call: call, Position: position, Effect: effect, Action: "read"}
	if effect == "write" {
		s.Action = "none"
	}
	p.steps = append(p.steps, s)
	p.byID[id] = s
}

// AddChange records an engine-side change that a dry-run does not make
// (store.put, output of an unknown value...).
func (p *Plan) AddChange(id, call, position, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &Step{ID: id, Call: call, Position: position, Effect: "write", Action: "change", Note: note}
	p.steps = append(p.steps, s)
	p.byID[id] = s
}

// AddUnchanged records an engine-side write that would change nothing (a
// store.put of the value, expiry and labels already stored): it is shown, so
// the plan still says what the flow does, but it is not pending.
func (p *Plan) AddUnchanged(id, call, position, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &Step{ID: id, Call: call, Position: position, Effect: "write", Action: "none", Note: note}
	p.steps = append(p.steps, s)
	p.byID[id] = s
}

// MarkHeld marks a step whose result is unknown because of held requests or
// unknown arguments.
func (p *Plan) MarkHeld(id, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.byID[id]; s != nil {
		s.Action = "change"
		if note != "" {
			s.Note = note
		}
	}
}

// AddRequest records a request of a step. Header values of credential
// headers are masked here; the rest is masked by the redactor on output.
func (p *Plan) AddRequest(stepID string, method, url string, header http.Header, body []byte, notes map[string]string, held bool, status int) {
	req := Request{Method: method, URL: url, Body: string(body), Notes: notes, Held: held, Status: status}
	names := make([]string, 0, len(header))
	for name := range header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range header[name] {
			req.Headers = append(req.Headers, [2]string{name, MaskHeader(name, v)})
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.byID[stepID]
	if s == nil {
		return
	}
	s.Requests = append(s.Requests, req)
	if held {
		s.Action = "change"
	}
}

// sensitiveHeaders carry credentials whatever their value looks like.
var sensitiveHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
	"X-F5-Auth-Token":     true,
	"X-Auth-Signature":    true,
	"X-Auth-Token":        true,
	"X-Api-Key":           true,
}

// IsSensitiveHeader reports whether a header carries a credential.
func IsSensitiveHeader(name string) bool { return sensitiveHeaders[http.CanonicalHeaderKey(name)] }

// MaskHeader masks the value of a credential header, keeping an auth scheme
// ("OpsToken ***") so the plan still shows how the request authenticates.
func MaskHeader(name, value string) string {
	if !IsSensitiveHeader(name) {
		return value
	}
	if http.CanonicalHeaderKey(name) == "Authorization" || http.CanonicalHeaderKey(name) == "Proxy-Authorization" {
		if scheme, _, ok := strings.Cut(value, " "); ok {
			return scheme + " " + redact.Mask
		}
	}
	return redact.Mask
}

// Placeholder returns the stand-in text for an unknown value labelled
// "<step>.<field>". It survives URL and JSON encoding unchanged.
func (p *Plan) Placeholder(label string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unknowns = append(p.unknowns, label)
	return fmt.Sprintf("__tokenflow_unknown_%d__", len(p.unknowns)-1)
}

var placeholderRE = regexp.MustCompile(`__tokenflow_unknown_(\d+)__`)

// HasPlaceholder reports whether s carries an unknown value.
func HasPlaceholder(s string) bool { return placeholderRE.MatchString(s) }

// Render replaces placeholders with "(known after apply: <label>)".
func (p *Plan) Render(s string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(placeholderRE.FindStringSubmatch(m)[1])
		if n < len(p.unknowns) {
			return "(known after apply: " + p.unknowns[n] + ")"
		}
		return "(known after apply)"
	})
}

// Pending counts the steps that would change something.
func (p *Plan) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.steps {
		if s.Action == "change" {
			n++
		}
	}
	return n
}

// Steps returns a rendered copy of the steps: placeholders replaced and
// secrets masked by r.
func (p *Plan) Steps(r *redact.Redactor) []Step {
	p.mu.Lock()
	steps := make([]Step, 0, len(p.steps))
	for _, s := range p.steps {
		c := *s
		c.Requests = append([]Request(nil), s.Requests...)
		steps = append(steps, c)
	}
	p.mu.Unlock()
	fix := func(s string) string { return r.String(p.Render(s)) }
	for i := range steps {
		s := &steps[i]
		s.Note = fix(s.Note)
		for j := range s.Requests {
			q := &s.Requests[j]
			q.URL = fix(q.URL)
			q.Body = fix(q.Body)
			hs := make([][2]string, len(q.Headers))
			for k, h := range q.Headers {
				hs[k] = [2]string{h[0], fix(h[1])}
			}
			q.Headers = hs
			if len(q.Notes) > 0 {
				notes := map[string]string{}
				for k, v := range q.Notes {
					notes[k] = fix(v)
				}
				q.Notes = notes
			}
		}
	}
	return steps
}

// WriteText prints the plan for people: its steps and the summary line.
func (p *Plan) WriteText(w io.Writer, r *redact.Redactor) error {
	if err := p.WriteSteps(w, r); err != nil {
		return err
	}
	n := p.Pending()
	var err error
	if n == 0 {
		_, err = io.WriteString(w, "\nPlan: no changes.\n")
	} else {
		_, err = fmt.Fprintf(w, "\nPlan: %d change(s) pending. Nothing was sent for them; run without --dry-run to apply.\n", n)
	}
	return err
}

// WriteSteps prints the plan's steps without the summary line: for a plan
// cut short by an error, and for commands that say in their own words
// how to apply it.
func (p *Plan) WriteSteps(w io.Writer, r *redact.Redactor) error {
	steps := p.Steps(r)
	var b strings.Builder
	for _, s := range steps {
		mark := " "
		if s.Action == "change" {
			mark = "+"
		}
		fmt.Fprintf(&b, "%s %s  (%s)  %s\n", mark, s.Call, s.Effect, s.Position)
		if s.Note != "" {
			fmt.Fprintf(&b, "      %s\n", s.Note)
		}
		for _, q := range s.Requests {
			if q.Held {
				fmt.Fprintf(&b, "      would send: %s %s\n", q.Method, q.URL)
			} else {
				fmt.Fprintf(&b, "      %s %s -> %d\n", q.Method, q.URL, q.Status)
			}
			noteKeys := make([]string, 0, len(q.Notes))
			for k := range q.Notes {
				noteKeys = append(noteKeys, k)
			}
			sort.Strings(noteKeys)
			for _, k := range noteKeys {
				fmt.Fprintf(&b, "        (%s: %s)\n", k, q.Notes[k])
			}
			if !q.Held {
				continue
			}
			for _, h := range q.Headers {
				fmt.Fprintf(&b, "        %s: %s\n", h[0], h[1])
			}
			if q.Body != "" {
				for _, line := range strings.Split(indentJSON(q.Body), "\n") {
					fmt.Fprintf(&b, "        %s\n", line)
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func indentJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return s
	}
	return string(out)
}

// Requests returns the requests recorded for a step, with secrets masked by
// r but placeholders left as they are: for a distributed worker to hand a
// step's requests back to the plan that made the placeholders (AddRequests).
func (p *Plan) Requests(stepID string, r *redact.Redactor) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.byID[stepID]
	if s == nil {
		return nil
	}
	out := make([]Request, 0, len(s.Requests))
	for _, q := range s.Requests {
		c := q
		c.URL, c.Body = r.String(q.URL), r.String(q.Body)
		c.Headers = make([][2]string, len(q.Headers))
		for i, h := range q.Headers {
			c.Headers[i] = [2]string{h[0], r.String(h[1])}
		}
		if len(q.Notes) > 0 {
			c.Notes = map[string]string{}
			for k, v := range q.Notes {
				c.Notes[k] = r.String(v)
			}
		}
		out = append(out, c)
	}
	return out
}

// AddRequests records requests made elsewhere (Requests) under a step; a
// held one marks the step as a change.
func (p *Plan) AddRequests(stepID string, reqs []Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.byID[stepID]
	if s == nil {
		return
	}
	for _, q := range reqs {
		s.Requests = append(s.Requests, q)
		if q.Held {
			s.Action = "change"
		}
	}
}

// FromSteps rebuilds a plan from rendered steps (Steps), as a distributed
// dry-run returns them, so it prints as a local one does.
func FromSteps(steps []Step) *Plan {
	p := New()
	for i := range steps {
		s := steps[i]
		p.steps = append(p.steps, &s)
		p.byID[s.ID] = &s
	}
	return p
}
