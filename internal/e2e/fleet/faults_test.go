package fleet_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/simulators"
)

// hungTimeout is the --http-timeout the fault runs use, so the hung target
// fails within a bounded time: each attempt gets this long, all attempts
// together three times it.
const hungTimeout = "1s"

// faultCase is a misbehaving target and the words its failure must carry.
type faultCase struct {
	kind simulators.FaultKind
	// words: the error must contain at least one (case-insensitive).
	words []string
	// code is the plugin's error class in the --json line.
	code string
}

var faultCases = map[string]faultCase{
	"vcf-1": {simulators.FaultError500, []string{"HTTP 500", "500"}, "internal"},
	"vcf-2": {simulators.FaultWrongPassword, []string{"unauthenticated", "401"}, "unauthenticated"},
	"vcf-3": {simulators.FaultUnreachable, []string{"connection refused"}, "unavailable"},
	"vcf-4": {simulators.FaultHang, []string{"timeout", "deadline", "timed out"}, "unavailable"},
}

// TestFleetFaults runs onboarding on 8 VCF targets of which 4 misbehave:
// the 4 healthy ones finish, the run exits 1, and both the text report and
// the --json lines name each failed target with what happened.
func TestFleetFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 8, "vcf")
	cases := map[string]faultCase{}
	for name, c := range faultCases {
		if err := e.fleet.Fault(name, c.kind); err != nil {
			t.Fatal(err)
		}
		cases[name] = c
	}
	// The hung target ends within 3 x hungTimeout; the bound leaves room
	// for a loaded machine.
	limit := 30 * time.Second
	healthy := map[string]bool{}
	for _, r := range e.fleet.Instances {
		if _, bad := cases[r.Name]; !bad {
			healthy[r.Name] = true
		}
	}
	if len(healthy) < 4 {
		t.Fatalf("%d healthy targets", len(healthy))
	}

	text := e.fleetRun(limit, "vcf/onboard.star", "--http-timeout", hungTimeout)
	t.Logf("text run with %d faulty targets: %s", len(cases), text.elapsed)
	exitCode(t, text, 1)
	per := textLines(text.stdout)
	for n := range healthy {
		if l := per[n]; !strings.HasPrefix(l, "ok ") {
			t.Errorf("healthy target %s: %q", n, l)
		}
	}
	failedSection := text.stdout[strings.Index(text.stdout, "\nFailed:")+1:]
	if !strings.HasPrefix(failedSection, "Failed:") {
		t.Fatalf("no Failed: section\n%s", text)
	}
	for n, c := range cases {
		if l := per[n]; !strings.HasPrefix(l, "failed ") || !hasAny(l, c.words) {
			t.Errorf("target %s (%s): line %q does not say %q", n, c.kind, l, c.words)
		}
		found := false
		for _, l := range strings.Split(failedSection, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == n {
				found = true
				if !hasAny(l, c.words) {
					t.Errorf("summary for %s (%s): %q does not say %q", n, c.kind, l, c.words)
				}
			}
		}
		if !found {
			t.Errorf("the summary does not name %s\n%s", n, text)
		}
	}
	if want := strings.Join([]string{strconv.Itoa(len(healthy)) + " ok", strconv.Itoa(len(cases)) + " failed"}, ", "); !strings.Contains(text.stdout, want) {
		t.Errorf("summary does not count %q\n%s", want, text)
	}
	if t.Failed() {
		t.Fatalf("text report:\n%s", text)
	}

	js := e.fleetRun(limit, "vcf/onboard.star", "--json", "--http-timeout", hungTimeout)
	exitCode(t, js, 1)
	lines, sum := parseJSON(t, js.stdout)
	if sum.Counts["ok"] != len(healthy) || sum.Counts["failed"] != len(cases) || len(sum.Failed) != len(cases) {
		t.Fatalf("summary %+v\n%s", sum, js)
	}
	inSummary := map[string]line{}
	for _, l := range sum.Failed {
		inSummary[l.Target] = l
	}
	for n, c := range cases {
		l := lines[n]
		if l.Status != "failed" || !hasAny(l.Error, c.words) || l.ErrorCode != c.code {
			t.Errorf("json line of %s (%s): %+v, want an error saying %q, error_code %q", n, c.kind, l, c.words, c.code)
		}
		if s := inSummary[n]; s.Status != "failed" || !hasAny(s.Error, c.words) {
			t.Errorf("summary entry of %s (%s): %+v", n, c.kind, s)
		}
		t.Logf("%s (%s): code=%q error=%q", n, c.kind, l.ErrorCode, firstLine(l.Error))
	}
	for n := range healthy {
		if lines[n].Status != "ok" {
			t.Errorf("healthy %s: %+v", n, lines[n])
		}
	}
}

// TestFleetFailFast: with --parallel 1 --fail-fast, nothing starts after the
// first failure.
func TestFleetFailFast(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4, "vcf")
	// The first target in file order fails at once.
	if err := e.fleet.Fault("vcf-1", simulators.FaultError500); err != nil {
		t.Fatal(err)
	}
	r := e.fleetRun(30*time.Second, "vcf/onboard.star", "--parallel", "1", "--fail-fast", "--json")
	exitCode(t, r, 1)
	lines, sum := parseJSON(t, r.stdout)
	if sum.Counts["failed"] != 1 || sum.Counts["skipped"] != 3 || sum.Counts["ok"] != 0 {
		t.Fatalf("counts %v\n%s", sum.Counts, r)
	}
	for _, n := range []string{"vcf-2", "vcf-3", "vcf-4"} {
		if l := lines[n]; l.Status != "skipped" || l.RunID != "" {
			t.Fatalf("%s: %+v", n, l)
		}
		if got := len(e.fleet.Get(n).Sim.Recorder().Entries()); got != 0 {
			t.Fatalf("skipped target %s received %d requests", n, got)
		}
	}
	// The text form says how to continue.
	txt := e.fleetRun(30*time.Second, "vcf/onboard.star", "--parallel", "1", "--fail-fast")
	exitCode(t, txt, 1)
	if !strings.Contains(txt.stdout, "3 skipped") || !strings.Contains(txt.stdout, "--resume") {
		t.Fatalf("text fail-fast report:\n%s", txt)
	}
}

func hasAny(s string, words []string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(s, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
