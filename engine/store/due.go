package store

import (
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine/value"
)

// Due says why t needs rotating within window of now, "" when it does not:
// it expires before now+window, or its rotate_every label says it was last
// rotated (or created) too long ago by then. `tokenflow rotate --due` and a
// schedule's --due decide with it.
func Due(t Token, now time.Time, window time.Duration) (string, error) {
	deadline := now.Add(window)
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(deadline) {
		return "expires " + t.ExpiresAt.UTC().Format(time.RFC3339), nil
	}
	every := t.Labels["rotate_every"]
	if every == "" {
		return "", nil
	}
	d, err := value.ParseDuration(every)
	if err != nil {
		return "", fmt.Errorf("token %s of %s: label rotate_every=%q: %w", t.Name, t.Target, every, err)
	}
	last := t.RotatedAt
	if last.IsZero() {
		last = t.CreatedAt
	}
	if !last.Add(d).After(deadline) {
		return fmt.Sprintf("last rotated %s, rotate_every %s", last.UTC().Format(time.RFC3339), every), nil
	}
	return "", nil
}
