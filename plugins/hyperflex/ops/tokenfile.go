package ops

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenflow/tokenflow/sdk"
)

// The token file of the hx-api-token-manager tool (vendors.md section 1), as its
// create_token_file writes it with ElementTree: no XML declaration, no whitespace, this
// element order, US-ASCII with character references for anything else.
//
//	<hx_api_token>
//	  <token><access_token/><refresh_token/><token_type/></token>
//	  <creation_time_format><human_readable_time/><unix_timestamp_time/></creation_time_format>
//	  <source_module/>
//	</hx_api_token>
const tokenFileRoot = "hx_api_token"

// humanTimeLayout is the tool's strftime("%A, %B %d, %Y at %I:%M:%S %p UTC").
const humanTimeLayout = "Monday, January 02, 2006 at 03:04:05 PM UTC"

// tokenFile is the content of a token file.
type tokenFile struct {
	AccessToken       string
	RefreshToken      string
	TokenType         string
	HumanReadableTime string
	UnixTimestampTime string
	SourceModule      string
}

// tokenFilePaths are the elements a token file must hold, as the tool's load_token_file reads
// them.
var tokenFilePaths = []string{
	"token/access_token",
	"token/refresh_token",
	"token/token_type",
	"creation_time_format/human_readable_time",
	"creation_time_format/unix_timestamp_time",
	"source_module",
}

// newTokenFile fills the time fields from created: the human-readable time in UTC and the true
// Unix time. (The Python tool computes unix_timestamp_time from a naive utcnow(), so on a
// machine whose local zone is not UTC its value is off by the zone offset; tokenflow writes the
// correct value.)
func newTokenFile(access, refresh, tokenType string, created time.Time, source string) tokenFile {
	return tokenFile{
		AccessToken:       access,
		RefreshToken:      refresh,
		TokenType:         tokenType,
		HumanReadableTime: created.UTC().Format(humanTimeLayout),
		UnixTimestampTime: strconv.FormatInt(created.Unix(), 10),
		SourceModule:      source,
	}
}

// encode writes the file exactly as ElementTree does.
func (f tokenFile) encode() []byte {
	var b strings.Builder
	b.WriteString("<" + tokenFileRoot + "><token>")
	etElement(&b, "access_token", f.AccessToken)
	etElement(&b, "refresh_token", f.RefreshToken)
	etElement(&b, "token_type", f.TokenType)
	b.WriteString("</token><creation_time_format>")
	etElement(&b, "human_readable_time", f.HumanReadableTime)
	etElement(&b, "unix_timestamp_time", f.UnixTimestampTime)
	b.WriteString("</creation_time_format>")
	etElement(&b, "source_module", f.SourceModule)
	b.WriteString("</" + tokenFileRoot + ">")
	return []byte(b.String())
}

// etElement writes one leaf element the way ElementTree serialises it: an empty text gives
// "<name />", text escapes only &, < and >, and with the default us-ascii encoding every
// non-ASCII character becomes a decimal character reference.
func etElement(b *strings.Builder, name, text string) {
	if text == "" {
		b.WriteString("<" + name + " />")
		return
	}
	b.WriteString("<" + name + ">")
	for _, r := range text {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r > 127:
			fmt.Fprintf(b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("</" + name + ">")
}

// xmlText reports the first character XML 1.0 cannot carry, so encode never writes a file
// that cannot be read back.
func xmlText(s string) (rune, bool) {
	if !utf8.ValidString(s) {
		return utf8.RuneError, false
	}
	for _, r := range s {
		ok := r == '\t' || r == '\n' || r == '\r' ||
			(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return r, false
		}
	}
	return 0, true
}

// node is an element of a parsed token file.
type node struct {
	name     string
	text     strings.Builder
	children []*node
}

func (n *node) find(path string) *node {
	cur := n
	for _, part := range strings.Split(path, "/") {
		var next *node
		for _, c := range cur.children {
			if c.name == part {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// errTokenFile is an error about a token file's content. Its message never quotes the
// content: the file holds credentials.
type errTokenFile struct{ msg string }

func (e *errTokenFile) Error() string { return e.msg }

func badFile(format string, args ...any) error {
	return &errTokenFile{msg: fmt.Sprintf(format, args...)}
}

// parseTokenFile reads a token file. It accepts what the Python tool writes and what a person
// may make of it by hand (an XML declaration, indentation, extra elements), and refuses
// anything the tool could not load, naming what is wrong.
func parseTokenFile(content string) (tokenFile, error) {
	if strings.TrimSpace(content) == "" {
		return tokenFile{}, badFile("the content is empty")
	}
	dec := xml.NewDecoder(strings.NewReader(content))
	dec.Strict = true
	var root *node
	var stack []*node
	closed := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if strings.Contains(se.Msg, "unexpected EOF") {
					return tokenFile{}, badFile("the XML ends early at line %d: the file is truncated", se.Line)
				}
				return tokenFile{}, badFile("not well-formed XML: line %d: %s", se.Line, se.Msg)
			}
			return tokenFile{}, badFile("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if closed {
				return tokenFile{}, badFile("unexpected element <%s> after </%s>", t.Name.Local, tokenFileRoot)
			}
			n := &node{name: t.Name.Local}
			if root == nil {
				if t.Name.Local != tokenFileRoot {
					return tokenFile{}, badFile("the root element is <%s>, want <%s>", t.Name.Local, tokenFileRoot)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				closed = true
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				if closed {
					return tokenFile{}, badFile("unexpected text after </%s>", tokenFileRoot)
				}
				return tokenFile{}, badFile("not XML: the content does not start with an element")
			}
		case xml.Directive:
			return tokenFile{}, badFile("document type declarations are not allowed in a token file")
		}
	}
	if root == nil {
		return tokenFile{}, badFile("no <%s> element", tokenFileRoot)
	}
	if !closed {
		return tokenFile{}, badFile("the XML ends before </%s>: the file is truncated", tokenFileRoot)
	}
	var missing []string
	text := map[string]string{}
	for _, p := range tokenFilePaths {
		n := root.find(p)
		if n == nil {
			missing = append(missing, p)
			continue
		}
		text[p] = n.text.String()
	}
	if len(missing) > 0 {
		what := "element"
		if len(missing) > 1 {
			what = "elements"
		}
		return tokenFile{}, badFile("missing %s %s", what, strings.Join(missing, ", "))
	}
	f := tokenFile{
		AccessToken:       strings.TrimSpace(text["token/access_token"]),
		RefreshToken:      strings.TrimSpace(text["token/refresh_token"]),
		TokenType:         strings.TrimSpace(text["token/token_type"]),
		HumanReadableTime: strings.TrimSpace(text["creation_time_format/human_readable_time"]),
		UnixTimestampTime: strings.TrimSpace(text["creation_time_format/unix_timestamp_time"]),
		SourceModule:      text["source_module"],
	}
	for p, v := range map[string]string{"token/access_token": f.AccessToken, "token/refresh_token": f.RefreshToken, "token/token_type": f.TokenType} {
		if v == "" {
			return tokenFile{}, badFile("element %s is empty", p)
		}
	}
	return f, nil
}

// createdAt is when the file says its token was created: from human_readable_time, which the
// Python tool always writes in true UTC, else from unix_timestamp_time (see newTokenFile).
func (f tokenFile) createdAt() (time.Time, error) {
	if t, err := time.Parse(humanTimeLayout, f.HumanReadableTime); err == nil {
		return t.UTC(), nil
	}
	if n, err := strconv.ParseInt(f.UnixTimestampTime, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, badFile("neither creation_time_format/human_readable_time nor creation_time_format/unix_timestamp_time holds a time")
}

func encodeTokenFileOp() sdk.Op {
	return sdk.Op{
		Name:   "encode_token_file",
		Doc:    "Render a token pair as an hx-api-token-manager token file (XML, the Python tool's exact layout); write it with sink.file",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Required: true},
			{Name: "refresh_token", Type: sdk.Secret, Required: true},
			{Name: "token_type", Type: sdk.String, Default: "Bearer"},
			{Name: "created_at", Type: sdk.Timestamp, Required: true, Doc: "creation time to record (time.now() for a new token)"},
			{Name: "source_module", Type: sdk.String, Default: "N/A", Doc: "who wrote the file (the Python tool writes its module path)"},
		},
		Results: []sdk.Field{
			{Name: "content", Type: sdk.Secret, Doc: "the file's content"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			created := c.Args.Time("created_at")
			if created.IsZero() {
				return nil, sdk.InvalidArgument("created_at", "not an RFC 3339 time")
			}
			f := newTokenFile(c.Args.String("access_token"), c.Args.String("refresh_token"), c.Args.String("token_type"), created, c.Args.String("source_module"))
			for _, p := range []struct{ name, v string }{
				{"access_token", f.AccessToken}, {"refresh_token", f.RefreshToken}, {"token_type", f.TokenType}, {"source_module", f.SourceModule},
			} {
				if p.name != "source_module" && strings.TrimSpace(p.v) == "" {
					return nil, sdk.InvalidArgument(p.name, "is empty")
				}
				if r, ok := xmlText(p.v); !ok {
					return nil, sdk.InvalidArgument(p.name, "holds the character %U, which an XML file cannot carry", r)
				}
			}
			return map[string]any{"content": string(f.encode())}, nil
		},
	}
}

func decodeTokenFileOp() sdk.Op {
	return sdk.Op{
		Name:   "decode_token_file",
		Doc:    "Read an hx-api-token-manager token file (as file.read_secret returns it); a malformed file is an error naming what is wrong",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "content", Type: sdk.Secret, Required: true, Doc: "the file's content"},
			{Name: "invalid_ok", Type: sdk.Bool, Default: false, Doc: "return ok = False and the problem in error instead of failing"},
		},
		Results: []sdk.Field{
			{Name: "ok", Type: sdk.Bool, Doc: "whether the content is a usable token file (False only with invalid_ok)"},
			{Name: "error", Type: sdk.String, Doc: "what is wrong with the content, when ok is False"},
			{Name: "access_token", Type: sdk.Secret},
			{Name: "refresh_token", Type: sdk.Secret},
			{Name: "token_type", Type: sdk.String},
			{Name: "created_at", Type: sdk.Timestamp, Doc: "when the token was obtained, from the file's creation times"},
			{Name: "human_readable_time", Type: sdk.String, Doc: `as written, e.g. "Monday, June 01, 2026 at 08:00:00 AM UTC"`},
			{Name: "unix_timestamp_time", Type: sdk.Int, Doc: "as written; None when it is not a number"},
			{Name: "source_module", Type: sdk.String},
			{Name: "expires_at", Type: sdk.Timestamp, Doc: "the access token's exp claim; None when the token is not a JWT"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			m, err := decodeTokenFile(c.Args.String("content"))
			if err != nil {
				if c.Args.Bool("invalid_ok") {
					return map[string]any{"ok": false, "error": err.Error()}, nil
				}
				return nil, sdk.InvalidArgument("content", "not a usable HyperFlex token file: %v", err)
			}
			return m, nil
		},
	}
}

func decodeTokenFile(content string) (map[string]any, error) {
	f, err := parseTokenFile(content)
	if err != nil {
		return nil, err
	}
	created, err := f.createdAt()
	if err != nil {
		return nil, err
	}
	m := map[string]any{
		"ok": true, "error": "",
		"access_token": f.AccessToken, "refresh_token": f.RefreshToken, "token_type": f.TokenType,
		"created_at":          created.Format(time.RFC3339),
		"human_readable_time": f.HumanReadableTime,
		"source_module":       f.SourceModule,
	}
	if n, err := strconv.ParseInt(f.UnixTimestampTime, 10, 64); err == nil {
		m["unix_timestamp_time"] = n
	}
	if cl, err := parseClaims(f.AccessToken); err == nil && !cl.expiresAt.IsZero() {
		m["expires_at"] = cl.expiresAt.Format(time.RFC3339)
	}
	return m, nil
}
