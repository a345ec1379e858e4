package redact

import (
	"html"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Some encodings have too many spellings to list as forms: a JSON encoder
// may write any character as \uXXXX, HTML has named, decimal and hex
// entities with or without leading zeros, percent-encoding may use either
// case and any byte. For those the redactor decodes the text instead, keeps
// where each decoded byte came from, looks for the secrets' forms in the
// decoded text and masks the original stretches they came from.
//
// Each kind decodes on its own (a secret may contain "%41" literally, and
// decoding everything at once would lose it), and layers go three deep: a
// JSON body echoed inside a JSON string, an HTML-escaped echo inside the
// JSON a vendor returns and then inside tokenflow's own --json output.

// view is a decoded text: byte k of s came from [start[k], end[k]) of the
// original text.
type view struct {
	s          string
	start, end []int32
}

// decoder decodes one kind of escape in v; ok is false when nothing in v
// was decoded.
type decoder struct {
	trigger string // a byte the text must hold for the decoder to apply
	decode  func(v view) (view, bool)
}

var decoders = []decoder{
	{"&", func(v view) (view, bool) { return decodeWith(v, '&', htmlEntity) }},
	{`\`, func(v view) (view, bool) { return decodeWith(v, '\\', backslashEscape) }},
	{"%", func(v view) (view, bool) { return decodeWith(v, '%', percentEscape) }},
	// application/x-www-form-urlencoded: + is a space (its %HH are the
	// decoder above, applied first).
	{"+", func(v view) (view, bool) { return decodeWith(v, '+', plusSpace) }},
}

// maxLayers is how many encodings deep the redactor looks.
const maxLayers = 3

// decodedSpans appends to out the spans found in the decoded views of s.
func (r *Redactor) decodedSpans(s string, out *[]span) {
	if !strings.ContainsAny(s, `&\%+`) {
		return
	}
	id := view{s: s, start: make([]int32, len(s)), end: make([]int32, len(s))}
	for i := 0; i < len(s); i++ { // bytes, not runes
		id.start[i], id.end[i] = int32(i), int32(i+1)
	}
	r.searchViews(id, maxLayers, -1, out)
}

// searchViews decodes v with each decoder in turn, searches the result and
// goes on decoding it. Decoding escapes that do not overlap commutes, so a
// chain applies decoders in the order of the list, except that a decoder
// may come again (or earlier) when its escape was produced by decoding, as
// in "&amp;lt;" or "\\u00e4": that keeps a text full of every kind of
// escape at a handful of views rather than 4+16+64.
func (r *Redactor) searchViews(v view, layers, last int, out *[]span) {
	if layers == 0 {
		return
	}
	for i, d := range decoders {
		if !strings.Contains(v.s, d.trigger) || (i <= last && !produced(v, d.trigger[0])) || (d.trigger == "+" && !r.spaced) {
			continue
		}
		dv, ok := d.decode(v)
		if !ok {
			continue
		}
		r.match(dv.s, func(i, j int, sec string) {
			*out = append(*out, span{int(dv.start[i]), int(dv.end[j-1]), sec})
		})
		r.searchViews(dv, layers-1, i, out)
	}
}

// produced reports whether some byte c in v came out of decoding (its
// origin in the text is longer than the byte).
func produced(v view, c byte) bool {
	for k := 0; ; k++ {
		j := strings.IndexByte(v.s[k:], c)
		if j < 0 {
			return false
		}
		if k += j; v.end[k]-v.start[k] > 1 {
			return true
		}
	}
}

// decodeWith decodes v with esc, which is tried at each byte equal to lead
// and returns the decoded bytes and how many bytes of v.s it consumed (0:
// not an escape).
func decodeWith(v view, lead byte, esc func(s string) (string, int)) (view, bool) {
	n := len(v.s)
	buf := make([]byte, 0, n)
	out := view{start: make([]int32, 0, n), end: make([]int32, 0, n)}
	changed := false
	for i := 0; i < n; {
		// Copy the run up to the next lead byte in bulk.
		j := strings.IndexByte(v.s[i:], lead)
		if j < 0 {
			j = n
		} else {
			j += i
		}
		buf = append(buf, v.s[i:j]...)
		out.start = append(out.start, v.start[i:j]...)
		out.end = append(out.end, v.end[i:j]...)
		if i = j; i == n {
			break
		}
		if dec, k := esc(v.s[i:]); k > 0 {
			buf = append(buf, dec...)
			for range len(dec) {
				out.start = append(out.start, v.start[i])
				out.end = append(out.end, v.end[i+k-1])
			}
			i += k
			changed = true
			continue
		}
		buf = append(buf, lead)
		out.start = append(out.start, v.start[i])
		out.end = append(out.end, v.end[i])
		i++
	}
	out.s = string(buf)
	return out, changed
}

// htmlEntity decodes an entity at the start of s: &name;, &#NNN; or
// &#xHH;. The semicolon is required: every encoder writes it, and without
// it "&amp" inside ordinary text would be eaten.
func htmlEntity(s string) (string, int) {
	// Look no further than the longest entity: scanning the whole rest
	// of a text of "&&&&..." would be quadratic.
	end := strings.IndexByte(s[:min(len(s), 34)], ';')
	if end < 2 {
		return "", 0
	}
	body := s[1:end]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '#' && i == 0) {
			return "", 0
		}
	}
	tok := s[:end+1]
	if body[0] == '#' {
		// Numeric entities decode to the code point the encoder wrote
		// (html.UnescapeString would read 128-159 as Windows-1252).
		num, base := body[1:], 10
		if num != "" && (num[0] == 'x' || num[0] == 'X') {
			num, base = num[1:], 16
		}
		n, err := strconv.ParseUint(num, base, 32)
		if err != nil || num == "" || !utf8.ValidRune(rune(n)) {
			return "", 0
		}
		return string(rune(n)), len(tok)
	}
	dec := html.UnescapeString(tok)
	if dec == tok {
		return "", 0
	}
	return dec, len(tok)
}

// backslashEscape decodes a backslash escape at the start of s, as JSON,
// JavaScript, Go (%q) and Python write them: \" \\ \/ \' \b \f \n \r \t
// \a \v, \xNN, \uXXXX (with UTF-16 surrogate pairs) and \UXXXXXXXX.
func backslashEscape(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	switch c := s[1]; c {
	case '"', '\\', '/', '\'':
		return string(c), 2
	case 'b':
		return "\b", 2
	case 'f':
		return "\f", 2
	case 'n':
		return "\n", 2
	case 'r':
		return "\r", 2
	case 't':
		return "\t", 2
	case 'a':
		return "\a", 2
	case 'v':
		return "\v", 2
	case 'x':
		if n, ok := hexN(s[2:], 2); ok {
			return string([]byte{byte(n)}), 4
		}
	case 'u':
		n, ok := hexN(s[2:], 4)
		if !ok {
			return "", 0
		}
		r := rune(n)
		if utf16.IsSurrogate(r) {
			if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if lo, ok := hexN(s[8:], 4); ok {
					if p := utf16.DecodeRune(r, rune(lo)); p != utf8.RuneError {
						return string(p), 12
					}
				}
			}
			return string(utf8.RuneError), 6
		}
		return string(r), 6
	case 'U':
		if n, ok := hexN(s[2:], 8); ok && utf8.ValidRune(rune(n)) {
			return string(rune(n)), 10
		}
	}
	return "", 0
}

// percentEscape decodes %HH (either case) at the start of s.
func percentEscape(s string) (string, int) {
	if n, ok := hexN(s[1:], 2); ok {
		return string([]byte{byte(n)}), 3
	}
	return "", 0
}

func plusSpace(string) (string, int) { return " ", 1 }

func hexN(s string, n int) (uint64, bool) {
	if len(s) < n {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:n], 16, 32)
	return v, err == nil
}
