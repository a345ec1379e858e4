// Package spell suggests the nearest known name for a misspelt one, for
// "did you mean" hints on unknown ops, parameters and fields.
package spell

import "strings"

// Nearest returns the candidate closest to x by edit distance, or "" when
// none is close enough to be a plausible typo.
func Nearest(x string, candidates []string) string {
	best, bestD := "", len(x)/2+2
	for _, c := range candidates {
		d := distance(strings.ToLower(x), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Hint returns " (did you mean y?)" or "".
func Hint(x string, candidates []string) string {
	if n := Nearest(x, candidates); n != "" {
		return " (did you mean " + n + "?)"
	}
	return ""
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
