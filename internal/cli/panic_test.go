package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// A panic in a command becomes an internal error with what to report, not
// a goroutine dump.
func TestPanicBecomesInternalError(t *testing.T) {
	io, _, _ := TestStreams()
	f := newFactory(io)
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { panic("index out of range [3] with length 2") }}
	cmd.SetArgs(nil)
	err := executeRecover(context.Background(), cmd, f)
	if err == nil {
		t.Fatal("no error from a panicking command")
	}
	for _, want := range []string{"internal error: index out of range", "bug in tokenflow", "report it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "goroutine") {
		t.Errorf("error carries a stack: %q", err)
	}
	if exitCode(err) != ExitError {
		t.Errorf("exit code %d", exitCode(err))
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"1GiB": 1 << 30, "512MiB": 512 << 20, "2g": 2 << 30, "1024": 1024, "1.5GiB": 3 << 29} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1GiB", "0"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
}
