package cli

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/engine"
)

// sizeFlag is a byte count given as 1GiB, 512MiB, 2G or 1073741824.
type sizeFlag struct{ n *uint64 }

func (s sizeFlag) String() string {
	if s.n == nil || *s.n == 0 {
		return ""
	}
	return engine.FormatSize(*s.n)
}

func (s sizeFlag) Type() string { return "size" }

func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
	{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1},
}

func parseSize(v string) (uint64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mult := uint64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want a size such as 512MiB or 2GiB", v)
	}
	return uint64(n * float64(mult)), nil
}

// internalError turns a panic into the message a person can act on. The
// stack goes to the log at debug level, never to the terminal unasked.
func internalError(f *Factory, p any) error {
	f.Logger().Debug("panic", "value", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("internal error: %v\nThis is a bug in tokenflow %s, not in your flow. Please report it with the command you ran and the output of `tokenflow version`; rerun with --log-level debug to include the stack trace", p, versionString())
}
