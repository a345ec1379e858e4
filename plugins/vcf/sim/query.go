package sim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Paging limits of the query operations.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// clientTokenQuery is the ClientTokenQuery body of the api-clients and api-tokens queries.
type clientTokenQuery struct {
	SearchTerms *struct {
		AllOf []searchTerm `json:"allOf"`
		AnyOf []searchTerm `json:"anyOf"`
	} `json:"searchTerms"`
	Filters *struct {
		TokenType   []string `json:"tokenType"`
		TokenStatus []string `json:"tokenStatus"`
	} `json:"filters"`
}

type searchTerm struct {
	Field    string   `json:"field"`
	Operator string   `json:"operator"`
	Terms    []string `json:"terms"`
}

// decodeQuery reads an optional ClientTokenQuery body (none means match everything) and checks
// its terms against the fields the operation supports.
func decodeQuery(r *http.Request, fields map[string]bool) (*clientTokenQuery, error) {
	q := &clientTokenQuery{}
	if err := simkit.DecodeJSON(r, q); err != nil && !errors.Is(err, simkit.ErrEmptyBody) {
		return nil, err
	}
	if q.SearchTerms == nil {
		return q, nil
	}
	for _, group := range [][]searchTerm{q.SearchTerms.AllOf, q.SearchTerms.AnyOf} {
		for i := range group {
			t := &group[i]
			t.Field = strings.ToUpper(strings.TrimSpace(t.Field))
			t.Operator = strings.ToUpper(strings.TrimSpace(t.Operator))
			if !fields[t.Field] {
				return nil, fmt.Errorf("searchTerms: unsupported field %q (supported: %s)", t.Field, strings.Join(sortedKeys(fields), ", "))
			}
			switch t.Operator {
			case "EQUALS", "LIKE":
				if len(t.Terms) == 0 {
					return nil, fmt.Errorf("searchTerms: operator %s on %s needs at least one term", t.Operator, t.Field)
				}
			case "EMPTY", "NOT_EMPTY":
			default:
				return nil, fmt.Errorf("searchTerms: unsupported operator %q (supported: EQUALS, LIKE, EMPTY, NOT_EMPTY)", t.Operator)
			}
		}
	}
	return q, nil
}

// matches applies the search terms to a record whose field values values returns.
func (q *clientTokenQuery) matches(values func(field string) []string) bool {
	if q.SearchTerms == nil {
		return true
	}
	for _, t := range q.SearchTerms.AllOf {
		if !t.matches(values(t.Field)) {
			return false
		}
	}
	if len(q.SearchTerms.AnyOf) == 0 {
		return true
	}
	for _, t := range q.SearchTerms.AnyOf {
		if t.matches(values(t.Field)) {
			return true
		}
	}
	return false
}

func (t searchTerm) matches(vals []string) bool {
	switch t.Operator {
	case "EMPTY":
		for _, v := range vals {
			if v != "" {
				return false
			}
		}
		return true
	case "NOT_EMPTY":
		for _, v := range vals {
			if v != "" {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		for _, term := range t.Terms {
			if t.Operator == "EQUALS" && v == term || t.Operator == "LIKE" && like(v, term) {
				return true
			}
		}
	}
	return false
}

// like is a case-insensitive match of a LIKE term: a substring match, or a SQL-style pattern
// where '%' matches any run of characters when the term contains one.
func like(value, term string) bool {
	value, term = strings.ToLower(value), strings.ToLower(term)
	if !strings.Contains(term, "%") {
		return strings.Contains(value, term)
	}
	parts := strings.Split(term, "%")
	if !strings.HasPrefix(value, parts[0]) {
		return false
	}
	value = value[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(value, p)
		if i < 0 {
			return false
		}
		value = value[i+len(p):]
	}
	return strings.HasSuffix(value, last)
}

// paging reads page (0-based) and pageSize from the query string.
func paging(q url.Values) (page, size int, err error) {
	page, size = 0, DefaultPageSize
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return 0, 0, fmt.Errorf("page must be an integer >= 0, got %q", v)
		}
	}
	if v := q.Get("pageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > MaxPageSize {
			return 0, 0, fmt.Errorf("pageSize must be an integer between 1 and %d, got %q", MaxPageSize, v)
		}
	}
	return page, size, nil
}

// pageOf returns the bounds of one page of n items.
func pageOf(n, page, size int) (lo, hi int) {
	lo = n
	if page <= n/size { // also keeps page*size from overflowing
		lo = page * size
	}
	return lo, min(lo+size, n)
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}
