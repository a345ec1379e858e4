package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const canary = "c4n4ry+S3cr3t/with=odd&chars\"ü"

func TestStringMasksEveryForm(t *testing.T) {
	r := New()
	r.Add(canary)
	for _, form := range []string{
		canary,
		base64.StdEncoding.EncodeToString([]byte(canary)),
		base64.RawURLEncoding.EncodeToString([]byte(canary)),
		url.QueryEscape(canary),
		url.PathEscape(canary),
		`c4n4ry+S3cr3t/with=odd&chars\"ü`,
		`c4n4ry+S3cr3t/with=odd\\u0026chars\\\"ü`, // escaped twice (an echoed request body)
	} {
		got := r.String("before " + form + " after")
		if got != "before "+Mask+" after" {
			t.Errorf("form %q: got %q", form, got)
		}
	}
}

func TestShortValuesIgnored(t *testing.T) {
	r := New()
	r.Add("abc", "")
	if got := r.String("abcabc"); got != "abcabc" {
		t.Fatalf("short secret masked: %q", got)
	}
}

func TestOverlappingSecretsLongestFirst(t *testing.T) {
	r := New()
	r.Add("token", "token-extended")
	if got := r.String("x token-extended y token z"); got != "x *** y *** z" {
		t.Fatalf("got %q", got)
	}
}

func TestWriterMasksSecretSplitAcrossWrites(t *testing.T) {
	r := New()
	r.Add("hunter2-password")
	var out bytes.Buffer
	w := r.Writer(&out)
	w.Write([]byte("login with hunter2-"))
	w.Write([]byte("password ok\nnext line"))
	w.Close()
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("secret leaked: %q", out.String())
	}
	if out.String() != "login with *** ok\nnext line" {
		t.Fatalf("got %q", out.String())
	}
}

func TestErrorKeepsChain(t *testing.T) {
	r := New()
	r.Add("s3cr3t-value")
	base := errors.New("bad token s3cr3t-value")
	err := r.Error(base)
	if err.Error() != "bad token ***" {
		t.Fatalf("got %q", err)
	}
	if !errors.Is(err, base) {
		t.Fatal("chain lost")
	}
}
