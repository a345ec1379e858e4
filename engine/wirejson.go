package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// A plugin's result is JSON that the plugin itself just encoded, often
// large (a listing of thousands of entities). Decoding it into Go values
// and then converting those into Starlark values allocated the document
// twice; wireParser turns the JSON straight into Starlark values, with the
// same meaning as plainFromWire(json.Decoder with UseNumber). Anything it
// does not handle simply (a string with an escape or a non-ASCII byte) is
// handed to encoding/json, and a document it cannot parse makes the caller
// fall back to encoding/json, so errors read as before.

var errWireSyntax = errors.New("not the JSON a plugin encodes")

type wireParser struct {
	data []byte
	pos  int
}

// parseWireObject parses a top-level JSON object. Members named in raw
// are decoded with encoding/json (UseNumber), for fieldFromWire; the others
// are converted to Starlark values. A key given twice keeps its last value,
// as in a map.
func parseWireObject(data []byte, raw map[string]bool) (map[string]starlark.Value, map[string]any, error) {
	p := &wireParser{data: data}
	vals, raws := map[string]starlark.Value{}, map[string]any{}
	p.space()
	if !p.eat('{') {
		return nil, nil, errWireSyntax
	}
	p.space()
	if p.eat('}') {
		return vals, raws, p.end()
	}
	for {
		p.space()
		k, err := p.str()
		if err != nil {
			return nil, nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, nil, errWireSyntax
		}
		p.space()
		start := p.pos
		v, err := p.value(1)
		if err != nil {
			return nil, nil, err
		}
		if raw[k] {
			dec := json.NewDecoder(bytes.NewReader(data[start:p.pos]))
			dec.UseNumber()
			var x any
			if err := dec.Decode(&x); err != nil {
				return nil, nil, errWireSyntax
			}
			raws[k] = x
			delete(vals, k)
		} else {
			vals[k] = v
			delete(raws, k)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return vals, raws, p.end()
		}
		return nil, nil, errWireSyntax
	}
}

func (p *wireParser) end() error {
	p.space()
	if p.pos != len(p.data) {
		return errWireSyntax
	}
	return nil
}

func (p *wireParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *wireParser) eat(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// maxWireDepth bounds nesting, as encoding/json does (10000).
const maxWireDepth = 10000

func (p *wireParser) value(depth int) (starlark.Value, error) {
	if depth > maxWireDepth || p.pos >= len(p.data) {
		return nil, errWireSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		d := starlark.StringDict{}
		p.space()
		if p.eat('}') {
			return starlarkstruct.FromStringDict(starlarkstruct.Default, d), nil
		}
		for {
			p.space()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if !p.eat(':') {
				return nil, errWireSyntax
			}
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d[k] = v
			p.space()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				return starlarkstruct.FromStringDict(starlarkstruct.Default, d), nil
			}
			return nil, errWireSyntax
		}
	case c == '[':
		p.pos++
		var l []starlark.Value
		p.space()
		if p.eat(']') {
			return starlark.NewList(l), nil
		}
		for {
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.space()
			if p.eat(',') {
				continue
			}
			if p.eat(']') {
				return starlark.NewList(l), nil
			}
			return nil, errWireSyntax
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return starlark.String(s), nil
	case c == 't' && bytes.HasPrefix(p.data[p.pos:], []byte("true")):
		p.pos += 4
		return starlark.True, nil
	case c == 'f' && bytes.HasPrefix(p.data[p.pos:], []byte("false")):
		p.pos += 5
		return starlark.False, nil
	case c == 'n' && bytes.HasPrefix(p.data[p.pos:], []byte("null")):
		p.pos += 4
		return starlark.None, nil
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return nil, errWireSyntax
}

// str reads a string. Plain ASCII without escapes is taken as is;
// anything else goes through encoding/json, which also repairs invalid
// UTF-8 the way the old path did.
func (p *wireParser) str() (string, error) {
	if !p.eat('"') {
		return "", errWireSyntax
	}
	start, simple := p.pos, true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			if simple {
				return string(s), nil
			}
			var out string
			if json.Unmarshal(p.data[start-1:p.pos], &out) != nil {
				return "", errWireSyntax
			}
			return out, nil
		case c == '\\':
			simple = false
			p.pos += 2
			continue
		case c < 0x20:
			return "", errWireSyntax
		case c >= utf8.RuneSelf:
			simple = false
		}
		p.pos++
	}
	return "", errWireSyntax
}

// number reads a number token and converts it as plainFromWire converts a
// json.Number.
func (p *wireParser) number() (starlark.Value, error) {
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if ('0' <= c && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.pos++
			continue
		}
		break
	}
	tok := string(p.data[start:p.pos])
	if !json.Valid(p.data[start:p.pos]) {
		return nil, errWireSyntax
	}
	if i, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return starlark.MakeInt64(i), nil
	}
	if bi, ok := new(big.Int).SetString(tok, 10); ok {
		return starlark.MakeBigInt(bi), nil
	}
	f, _ := strconv.ParseFloat(tok, 64)
	return starlark.Float(f), nil
}
