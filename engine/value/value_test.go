package value

import (
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"28d":    28 * 24 * time.Hour,
		"2w":     14 * 24 * time.Hour,
		"1d12h":  36 * time.Hour,
		"1h30m":  90 * time.Minute,
		"45s":    45 * time.Second,
		"1.5h":   90 * time.Minute,
		"250ms":  250 * time.Millisecond,
		"720h0m": 720 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "10", "10y", "1h-2m"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("hunter2-canary", "env:X")
	thread := &starlark.Thread{}
	for _, expr := range []string{`str(s)`, `repr(s)`, `"%s" % s`, `"%r" % s`, `"{}".format(s)`, `str([s])`, `str({"k": s})`} {
		v, err := starlark.Eval(thread, "x", expr, starlark.StringDict{"s": s})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if strings.Contains(v.String(), "hunter2") {
			t.Errorf("%s = %s", expr, v)
		}
	}
	for _, expr := range []string{`s + "x"`, `"x" + s`, `s * 2`} {
		_, err := starlark.Eval(thread, "x", expr, starlark.StringDict{"s": s})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: err = %v", expr, err)
		}
	}
	if s.Reveal() != "hunter2-canary" {
		t.Fatal("Reveal lost the value")
	}
}

func TestUnknownMisuseNamesTheLine(t *testing.T) {
	thread := &starlark.Thread{}
	u := NewUnknown(thread, "create.id", "__tokenflow_unknown_0__")
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{}, thread, "f.star", "x = 1\ny = u + 'a'\n", starlark.StringDict{"u": u})
	if err == nil || !strings.Contains(err.Error(), "cannot compute with (+) a value known only after apply (create.id)") {
		t.Fatalf("err = %v", err)
	}
	defer func() {
		r := recover()
		e, ok := r.(*UnknownUsedError)
		if !ok || e.Position != "f.star:2:4" {
			t.Fatalf("recovered %#v", r)
		}
	}()
	starlark.ExecFileOptions(&syntax.FileOptions{TopLevelControl: true}, thread, "f.star", "x = 1\nif u:\n    pass\n", starlark.StringDict{"u": u})
	t.Fatal("branching on an unknown did not stop")
}
