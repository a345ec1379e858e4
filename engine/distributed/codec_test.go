package distributed_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/state"
)

func codecFor(t *testing.T) (*state.Keyring, func([]*commonpb.Payload) ([]*commonpb.Payload, error), func([]*commonpb.Payload) ([]*commonpb.Payload, error), string) {
	t.Helper()
	keys, err := state.LoadKeyring(filepath.Join(t.TempDir(), "key.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	key, id, err := distributed.CodecKeyFor(keys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := distributed.NewPayloadCodec(key, id)
	if err != nil {
		t.Fatal(err)
	}
	return keys, c.Encode, c.Decode, id
}

// TestPayloadCodec: payloads round-trip, reveal nothing, and a payload
// under another key, altered, or never encoded is handled as it should be.
func TestPayloadCodec(t *testing.T) {
	keys, encode, decode, id := codecFor(t)
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Canary-secret-in-payload"`)}
	enc, err := encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(enc[0])
	if bytes.Contains(raw, []byte("Canary-secret")) || bytes.Contains(raw, []byte("json/plain")) {
		t.Fatal("the encoded payload carries its content in clear")
	}
	if got := string(enc[0].Metadata["tokenflow-key-id"]); got != id {
		t.Errorf("key id in metadata %q, want %q", got, id)
	}
	again, _ := encode([]*commonpb.Payload{plain})
	if bytes.Equal(again[0].Data, enc[0].Data) {
		t.Error("two encodings of one payload are equal: the nonce is not random")
	}
	dec, err := decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dec[0], plain) {
		t.Fatalf("round trip gave %v, want %v", dec[0], plain)
	}

	// The key is the state key's: the same keyring gives the same key.
	key2, id2, _ := distributed.CodecKeyFor(keys)
	if id2 != id || len(key2) != 32 {
		t.Errorf("CodecKeyFor is not stable: id %s then %s", id, id2)
	}

	// Another key: a clear error naming both key ids.
	_, _, otherDecode, otherID := codecFor(t)
	_, err = otherDecode(enc)
	if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), otherID) || !strings.Contains(err.Error(), "TOKENFLOW_STATE_KEY") {
		t.Errorf("decoding under another key: %v, want an error naming both key ids and TOKENFLOW_STATE_KEY", err)
	}

	// Altered data fails; a payload the codec did not write passes.
	bad := proto.Clone(enc[0]).(*commonpb.Payload)
	bad.Data[len(bad.Data)-1] ^= 1
	if _, err := decode([]*commonpb.Payload{bad}); err == nil {
		t.Error("an altered payload decoded")
	}
	if out, err := decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Errorf("a payload from before the codec: %v, %v; want it passed through", out, err)
	}
}

// TestHistoryEncrypted runs the onboard flow with and without the codec
// and searches the workflow history, read through the Temporal API, for
// the canaries (the password and the issued token). Without the codec they
// are absent already (secrets travel as references, results masked) but
// the history is readable; with it, nothing of the flow is.
func TestHistoryEncrypted(t *testing.T) {
	for _, codec := range []bool{false, true} {
		name := map[bool]string{false: "without codec", true: "with codec"}[codec]
		t.Run(name, func(t *testing.T) {
			cl := newClusterWith(t, codec)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run := cl.submitOnboard(ctx, t)
			res, err := distributed.Wait(ctx, run)
			if err != nil {
				t.Fatalf("the worker did not run the flow: %v", err)
			}
			if len(res.Outputs) == 0 {
				t.Fatal("the flow has no outputs")
			}
			tok, err := cl.db.Get(ctx, cl.srv.URL, "vcf/ci-bot/ci-bot-main")
			if err != nil || !cl.sim.TokenSecretValid(tok.Value) {
				t.Fatalf("no working token in the shared store (%v)", err)
			}
			hist := cl.history(t, run.GetID(), run.GetRunID())
			raw, err := proto.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist.Events) < 10 {
				t.Fatalf("history of %d events: not the history of this run", len(hist.Events))
			}
			for what, secret := range map[string]string{"password": canaryPassword, "token": tok.Value} {
				for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(`"` + secret + `"`))} {
					if bytes.Contains(raw, []byte(form)) {
						t.Errorf("the %s appears in the workflow history", what)
					}
				}
			}
			// What is readable in the history: the reference to the
			// password, the flow's source, the target.
			visible := []string{"tfref:env:VCF_PASSWORD", "converge", strings.TrimPrefix(cl.srv.URL, "https://")}
			for _, s := range visible {
				if got := bytes.Contains(raw, []byte(s)); got == codec {
					t.Errorf("%q in the history: %v, want %v", s, got, !codec)
				}
			}
			if codec {
				n := 0
				for _, ev := range hist.Events {
					if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
						for _, p := range a.Input.GetPayloads() {
							if string(p.Metadata["encoding"]) != "binary/tokenflow-xchacha20poly1305" {
								t.Errorf("activity %s input is %s, want encrypted", a.ActivityId, p.Metadata["encoding"])
							}
							n++
						}
					}
				}
				if n == 0 {
					t.Error("no activity input in the history")
				}
			}
		})
	}
}
