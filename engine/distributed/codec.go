package distributed

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tokenflow/tokenflow/engine/state"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"
)

// Payload metadata the codec writes. The encoding marks a payload as ours
// so Decode leaves others (written before the codec was on) alone.
const (
	codecEncoding = "binary/tokenflow-xchacha20poly1305"
	metaEncoding  = "encoding"
	metaKeyID     = "tokenflow-key-id"
)

// codec encrypts every payload (workflow and activity inputs and results,
// schedule actions, and with the failure converter error messages) with
// XChaCha20-Poly1305. Results already carry masked values and references
// into the sealed store; the codec is the second layer, so what Temporal
// keeps reveals nothing of a flow's variables, targets or outputs either.
type codec struct {
	aead  cipher.AEAD
	keyID string
}

// CodecKeyFor derives the payload codec's key from the shared state key
// (HKDF-SHA256 with a label of its own, so it is unrelated to the
// activity-id key), and a key id that names it without revealing it.
func CodecKeyFor(keys *state.Keyring) (key []byte, keyID string, err error) {
	secret := keys.Derive("temporal payload codec")
	if key, err = hkdf.Key(sha256.New, secret, nil, "tokenflow temporal payload codec v1 key", chacha20poly1305.KeySize); err != nil {
		return nil, "", err
	}
	id, err := hkdf.Key(sha256.New, secret, nil, "tokenflow temporal payload codec v1 key id", 8)
	if err != nil {
		return nil, "", err
	}
	return key, hex.EncodeToString(id), nil
}

// NewPayloadCodec returns the encrypting codec for a key from CodecKeyFor.
func NewPayloadCodec(key []byte, keyID string) (converter.PayloadCodec, error) {
	if len(key) != chacha20poly1305.KeySize || keyID == "" {
		return nil, errors.New("payload codec needs a 32-byte key and its id (CodecKeyFor)")
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &codec{aead: aead, keyID: keyID}, nil
}

// DataConverterFor is the data converter every client and worker of a
// namespace uses: the default converter with payloads encrypted under the
// shared state key.
func DataConverterFor(keys *state.Keyring) (converter.DataConverter, error) {
	key, id, err := CodecKeyFor(keys)
	if err != nil {
		return nil, fmt.Errorf("payload codec key: %w", err)
	}
	c, err := NewPayloadCodec(key, id)
	if err != nil {
		return nil, err
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c), nil
}

// FailureConverterFor encrypts failure messages and stack traces too: an
// error text is redacted before it is returned, but it names targets and
// accounts.
func FailureConverterFor(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// aad binds a ciphertext to the key id it claims.
func (c *codec) aad() []byte { return []byte(codecEncoding + "\x00" + c.keyID) }

// Encode encrypts each payload, whole (metadata and data).
func (c *codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aead
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metaEncoding: []byte(codecEncoding), metaKeyID: []byte(c.keyID)},
			Data:     aead.Seal(nonce, nonce, plain, c.aad()),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and passes others
// through. A payload under another key fails with both key ids named.
func (c *codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aead
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metaEncoding]) != codecEncoding {
			out[i] = p
			continue
		}
		if id := string(p.GetMetadata()[metaKeyID]); id != c.keyID {
			return nil, fmt.Errorf("payload codec: the payload was encrypted with key id %s but this process has key id %s: every worker and client of the namespace needs the same state key (TOKENFLOW_STATE_KEY)", id, c.keyID)
		}
		if len(p.Data) < aead.NonceSize()+aead.Overhead() {
			return nil, errors.New("payload codec: encrypted payload is truncated")
		}
		nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, c.aad())
		if err != nil {
			return nil, fmt.Errorf("payload codec: payload under key id %s does not decrypt (altered in transit or in the history?): %w", c.keyID, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("payload codec: decrypted payload: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}
