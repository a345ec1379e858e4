package value

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

// ParseDuration accepts Go durations ("1h30m") plus days and weeks ("28d",
// "2w", "1d12h"), the units token lifetimes are written in.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: want forms like 28d, 12h, 1h30m, 2w", orig)
		}
		num := s[:i]
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		unit := s[:j]
		s = s[j:]
		var mult time.Duration
		switch unit {
		case "w":
			mult = 7 * 24 * time.Hour
		case "d":
			mult = 24 * time.Hour
		case "h":
			mult = time.Hour
		case "m":
			mult = time.Minute
		case "s":
			mult = time.Second
		case "ms":
			mult = time.Millisecond
		default:
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (use w, d, h, m, s, ms)", orig, unit)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		total += time.Duration(f * float64(mult))
	}
	return total, nil
}

// Duration unpacks a time.duration or a duration string.
type Duration struct{ D time.Duration }

var _ starlark.Unpacker = (*Duration)(nil)

func (d *Duration) Unpack(v starlark.Value) error {
	switch x := v.(type) {
	case starlarktime.Duration:
		d.D = time.Duration(x)
		return nil
	case starlark.String:
		p, err := ParseDuration(string(x))
		if err != nil {
			return err
		}
		d.D = p
		return nil
	}
	return fmt.Errorf("got %s, want duration or string like \"28d\"", v.Type())
}
