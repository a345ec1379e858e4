package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// encodings are the ways a vendor echo can carry a secret; each is applied
// to canary values below and by the fuzz test.
var encodings = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"html.EscapeString", html.EscapeString},
	{"html/template", template.HTMLEscapeString},
	{"entities decimal", func(s string) string { return entities(s, "&#%d;") }},
	{"entities hex", func(s string) string { return entities(s, "&#x%X;") }},
	{"entities hex zero-padded", func(s string) string { return entities(s, "&#x%04x;") }},
	{"json.Marshal", func(s string) string { return jsonString(s) }},
	{"\\u every character", func(s string) string { return uEscapeAll(s) }},
	{"json twice", func(s string) string { return jsonString(jsonString(s)) }},
	{"json of html", func(s string) string { return jsonString(html.EscapeString(s)) }},
	{"go %q", func(s string) string { return strconv.Quote(s) }},
	{"go %+q", strconv.QuoteToASCII},
	{"query escape", url.QueryEscape},
	{"path escape", url.PathEscape},
	{"percent every byte, lower case", func(s string) string { return percentAll(s, "%%%02x") }},
	{"percent every byte, upper case", func(s string) string { return percentAll(s, "%%%02X") }},
	{"base64 std", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64 url", func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }},
	{"base64 raw std", func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }},
	{"base64 raw url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"query escape of base64", func(s string) string { return url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(s))) }},
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func entities(s, format string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}

func uEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xffff {
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

func percentAll(s, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

// basicAuth is the secret inside a basic-auth credential: base64 of
// "user:secret", where the secret's base64 depends on the user's length.
func basicAuth(user, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
}

var canaries = []string{
	"c4n4ry<&>'\"ä pass+word/%41",
	"tok3n-äöü-€-😀-end",
	"plainCanaryValue42",
	`back\slash\u0041"q`,
}

func TestEveryEncodingOfCanariesIsMasked(t *testing.T) {
	for _, c := range canaries {
		r := New()
		r.Add(c)
		for _, e := range encodings {
			form := e.enc(c)
			text := `{"error": "rejected ` + form + ` for user admin"}`
			got := r.String(text)
			if strings.Contains(got, form) || !strings.Contains(got, Mask) {
				t.Errorf("%s of %q: %q", e.name, c, got)
			}
			if want := `{"error": "rejected *** for user admin"}`; e.name != "go %q" && e.name != "go %+q" && got != want {
				t.Errorf("%s of %q: got %q, want %q", e.name, c, got, want)
			}
		}
		for _, user := range []string{"a", "ad", "admin", "root"} {
			form := basicAuth(user, c)
			got := r.String("Authorization: Basic " + form)
			if strings.Contains(got, form) || !strings.Contains(got, Mask) {
				t.Errorf("basic auth %s:%q: %q", user, c, got)
			}
		}
	}
}

// ReplaceEach must replace exactly what String masks: a cassette would
// otherwise keep a secret String hides.
func TestReplaceEachMatchesString(t *testing.T) {
	r := New()
	r.Add(canaries...)
	text := "a " + html.EscapeString(canaries[0]) + " b " + uEscapeAll(canaries[1]) + " c " + canaries[2] + " " + html.EscapeString(canaries[0])
	n := 0
	ids := map[string]int{}
	got := r.ReplaceEach(text, func(sec string) string {
		n++
		if _, ok := ids[sec]; !ok {
			ids[sec] = len(ids) + 1
		}
		return fmt.Sprintf("<%d>", ids[sec])
	})
	if want := "a <1> b <2> c <3> <1>"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if masked := r.String(text); masked != "a *** b *** c *** ***" {
		t.Fatalf("String: %q", masked)
	}
}

// A thousand secrets and a text with every kind of escape stay fast: the
// decoded views are linear in the text, not in the number of secrets.
func TestManySecretsWithEscapes(t *testing.T) {
	r := New()
	for i := range 2000 {
		r.Add(fmt.Sprintf("fleet-token-%06d-x", i))
	}
	text := strings.Repeat(`&amp; \u00e4 %41 + `, 5000) + jsonString(html.EscapeString("fleet-token-001999-x"))
	got := r.String(text)
	if strings.Contains(got, "001999") || !strings.HasSuffix(got, Mask) {
		t.Fatalf("got …%q", got[len(got)-60:])
	}
}

func FuzzRedactEncodings(f *testing.F) {
	for _, c := range canaries {
		f.Add(c, "before ", " after", "user")
	}
	f.Add("abcd", "", "", "")
	f.Add("a&b;c", "&amp", "&lt;", "x")
	f.Fuzz(func(t *testing.T, secret, prefix, suffix, user string) {
		// The mask itself, NUL (html/template writes U+FFFD for it) and
		// invalid UTF-8 (JSON encoders replace it) are outside the
		// contract; so is a secret of only spaces or '+'.
		if len(secret) < MinLen || !utf8.ValidString(secret) || strings.ContainsAny(secret, "*\x00") ||
			strings.Trim(secret, " +") == "" {
			return
		}
		r := New()
		r.Add(secret)
		for _, e := range encodings {
			form := e.enc(secret)
			// One space either side: an escape cannot run across it, so
			// the surrounding text cannot change how the form decodes
			// (a stray "\" before "\u00e4" makes it "\\u00e4").
			got := r.String(prefix + " " + form + " " + suffix)
			if strings.Contains(got, form) {
				t.Fatalf("%s of %q left in %q", e.name, secret, got)
			}
		}
		if len(secret) >= 8 && !strings.ContainsAny(user, ":") {
			form := basicAuth(user, secret)
			got := r.String("Basic " + form)
			if strings.Contains(got, form) || bytes.Contains([]byte(got), []byte(base64.StdEncoding.EncodeToString([]byte(secret)))) {
				t.Fatalf("basic auth %q:%q left in %q", user, secret, got)
			}
		}
	})
}

// Texts made only of escapes stay linear: an entity without its ";" once
// made every "&" scan the rest of the text (1.5 s for 1 MiB; 6 s for 2).
func TestEscapeFloodsAreLinear(t *testing.T) {
	r := New()
	r.Add("a b&c\\d%e+f<g")
	for _, unit := range []string{"&#38;", "&", `\\\\`, "%25", "&amp;amp;", `\u0026`} {
		text := strings.Repeat(unit, 2<<20/len(unit))
		start := time.Now()
		r.String(text)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("2 MiB of %q took %v", unit, d)
		}
	}
}
