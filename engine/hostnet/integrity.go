package hostnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// A saved cassette starts with a YAML comment holding the SHA-256 of the
// rest of the file (the interactions as go-vcr wrote them). go-vcr skips
// the comment; a replay checks it, so a cassette edited by hand (or by a
// tool that rewrote a response to make a rehearsal pass) is not replayed as
// if it were what the vendor said, unless the user says so.
const integrityPrefix = "# tokenflow-sha256: "

// ErrCassetteEdited is returned (wrapped) for a cassette whose content does
// not match its integrity hash, or that has none.
var ErrCassetteEdited = errors.New("cassette edited")

// hexSum is upper case: lower-case hex of this length is what some vendors'
// refresh tokens look like, and cassette checks look for those.
func hexSum(sum []byte) string { return strings.ToUpper(hex.EncodeToString(sum)) }

func withIntegrity(data []byte) []byte {
	sum := sha256.Sum256(data)
	out := make([]byte, 0, len(integrityPrefix)+64+1+len(data))
	out = append(out, integrityPrefix...)
	out = append(out, hexSum(sum[:])...)
	out = append(out, '\n')
	return append(out, data...)
}

// checkIntegrity reports whether a saved cassette is as Save wrote it.
func checkIntegrity(path string, data []byte) error {
	const what = "record it again with --record, or replay it as edited with --replay-edited"
	line, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || !bytes.HasPrefix(line, []byte(integrityPrefix)) {
		return fmt.Errorf("replay cassette %s has no integrity hash (first line %q...): %w; %s", path, integrityPrefix, ErrCassetteEdited, what)
	}
	sum := sha256.Sum256(rest)
	if got := string(bytes.TrimSpace(line[len(integrityPrefix):])); !strings.EqualFold(got, hexSum(sum[:])) {
		return fmt.Errorf("replay cassette %s does not match the SHA-256 saved with it: %w after recording; %s", path, ErrCassetteEdited, what)
	}
	return nil
}
