package sdk

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// marshalResult writes exactly what json.Marshal writes.
func TestMarshalResultIsJSONMarshal(t *testing.T) {
	type custom struct {
		A int       `json:"a"`
		T time.Time `json:"t"`
	}
	values := []any{
		nil, true, false, "", "plain", `quo"te \ back`, "<html> & co", "tab\tnew\nline\x01", "héllo", "\u2028", "bad \xff",
		0, -7, int64(math.MaxInt64), int32(-3), uint64(math.MaxUint64), int8(4), uint(9),
		0.0, 1.5, -0.25, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.SmallestNonzeroFloat64, float32(1.1),
		json.Number("12.50"),
		map[string]any{}, map[string]any(nil), []any{}, []any(nil), []string{"a", "<b>"}, map[string]string{"z": "1", "a": "2"},
		[]map[string]any{{"b": 1, "a": []any{nil, "x", map[string]any{"k": 2.5}}}},
		map[string]any{"z": 1, "A": 2, "a": 3, "é": 4, "<": 5, "nested": map[string]any{"list": []any{1, "two", 3.5, true}}},
		custom{A: 1, T: time.Unix(0, 0).UTC()},
		map[string]any{"custom": custom{A: 2}, "ptr": &custom{A: 3}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		values = append(values, randomValue(r, 0))
	}
	for _, v := range values {
		want, werr := json.Marshal(v)
		got, gerr := marshalResult(v)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("%#v:\n got %s (%v)\nwant %s (%v)", v, got, gerr, want, werr)
		}
	}
}

func TestMarshalResultErrors(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), map[string]any{"x": math.Inf(-1)}, json.Number("abc")} {
		_, werr := json.Marshal(v)
		_, gerr := marshalResult(v)
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Errorf("%v: error %v, want %v", v, gerr, werr)
		}
	}
	cycle := map[string]any{}
	cycle["self"] = cycle
	if _, err := marshalResult(cycle); err == nil {
		t.Error("a map holding itself encoded without error")
	}
}

func randomValue(r *rand.Rand, depth int) any {
	n := 7
	if depth > 3 {
		n = 4
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randomString(r)
	case 3:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	case 4:
		m := map[string]any{}
		for range r.IntN(5) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	case 5:
		l := make([]any, r.IntN(5))
		for i := range l {
			l[i] = randomValue(r, depth+1)
		}
		return l
	}
	return r.Int64N(1<<53) - 1<<52
}

func randomString(r *rand.Rand) string {
	const alphabet = "abcXYZ019 _-\"\\<>&\t\n\x00é\u2028"
	runes := []rune(alphabet)
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}
