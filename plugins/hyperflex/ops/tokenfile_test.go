package ops_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/ops"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

// pythonFields are the values python_token_file.xml was written from.
type pythonFields struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	CreatedAt    int64  `json:"created_at"`
	SourceModule string `json:"source_module"`
}

func loadPythonFixture(t *testing.T) (pythonFields, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "python_token_file.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f pythonFields
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	xml, err := os.ReadFile(filepath.Join("..", "testdata", "python_token_file.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return f, xml
}

// pure is a harness for the pure ops: no simulator, so any request would fail.
func pure(t *testing.T) *sdktest.Harness {
	return sdktest.New(t, ops.Plugin(), nil)
}

var noConn = map[string]any{"url": "https://hx.invalid"}

func encode(t *testing.T, h *sdktest.Harness, args map[string]any) string {
	t.Helper()
	out, err := h.Call("encode_token_file", noConn, args)
	if err != nil {
		t.Fatalf("encode_token_file: %v", err)
	}
	return out["content"].(string)
}

func TestEncodeWritesThePythonToolsFileByteForByte(t *testing.T) {
	f, want := loadPythonFixture(t)
	h := pure(t)
	got := encode(t, h, map[string]any{
		"access_token": f.AccessToken, "refresh_token": f.RefreshToken, "token_type": f.TokenType,
		"created_at": time.Unix(f.CreatedAt, 0).UTC().Format(time.RFC3339), "source_module": f.SourceModule,
	})
	if got != string(want) {
		t.Fatalf("encode_token_file:\n got %s\nwant %s", got, want)
	}
	if n := len(h.Exchanges()); n != 0 {
		t.Fatalf("a pure op sent %d requests", n)
	}
}

func TestDecodeReadsThePythonToolsFileFieldByField(t *testing.T) {
	f, file := loadPythonFixture(t)
	h := pure(t)
	got, err := h.Call("decode_token_file", noConn, map[string]any{"content": string(file)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ok": true, "error": "",
		"access_token": f.AccessToken, "refresh_token": f.RefreshToken, "token_type": "Bearer",
		"created_at":          "2026-06-01T08:00:00Z",
		"human_readable_time": "Monday, June 01, 2026 at 08:00:00 AM UTC",
		"unix_timestamp_time": int64(1780300800),
		"source_module":       `C:\Users\hxadmin\hx-api-token-manager\hx_api_token_manager.py`,
		"expires_at":          "2026-06-19T08:00:00Z", // the fixture JWT's exp claim
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("result has %d fields, want %d: %v", len(got), len(want), got)
	}
}

func TestTokenFileRoundTrip(t *testing.T) {
	h := pure(t)
	created := time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)
	for _, tc := range []struct{ name, source string }{
		{"default source", ""},
		{"odd source", `/opt/a&b <c> "d" 'e' é€😀/tool.py`},
	} {
		args := map[string]any{
			"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3OTMzMjE2MDB9.c2ln", "refresh_token": strings.Repeat("ab", 32),
			"created_at": created.Format(time.RFC3339),
		}
		if tc.source != "" {
			args["source_module"] = tc.source
		}
		content := encode(t, h, args)
		got, err := h.Call("decode_token_file", noConn, map[string]any{"content": content})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantSource := tc.source
		if wantSource == "" {
			wantSource = "N/A"
		}
		for k, v := range map[string]any{
			"access_token": args["access_token"], "refresh_token": args["refresh_token"], "token_type": "Bearer",
			"created_at": "2026-12-31T23:59:58Z", "human_readable_time": "Thursday, December 31, 2026 at 11:59:58 PM UTC",
			"unix_timestamp_time": int64(1798761598), "source_module": wantSource, "expires_at": "2026-10-30T00:53:20Z",
		} {
			if got[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", tc.name, k, got[k], v)
			}
		}
	}
}

// TestEncodeMatchesElementTree compares the encoder with Python's ElementTree itself, for
// values that exercise its escaping. It needs python3 and skips without it; the committed
// fixture covers the common case everywhere.
func TestEncodeMatchesElementTree(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	h := pure(t)
	for _, source := range []string{
		"N/A",
		`C:\tools\hx_api_token_manager.py`,
		`/home/o'brien/a&b<c>"d".py`,
		"/srv/équipe/日本/😀.py",
		"",
		"tab\there\nnewline",
	} {
		fields := pythonFields{AccessToken: "x.y.z", RefreshToken: strings.Repeat("0f", 32), TokenType: "Bearer", CreatedAt: 1790000000, SourceModule: source}
		in, _ := json.Marshal(fields)
		out := filepath.Join(t.TempDir(), "token.xml")
		cmd := exec.Command(py, filepath.Join("..", "testdata", "python_token_file.py"), out)
		cmd.Stdin = bytes.NewReader(in)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("python: %v\n%s", err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got := encode(t, h, map[string]any{
			"access_token": fields.AccessToken, "refresh_token": fields.RefreshToken, "token_type": fields.TokenType,
			"created_at": time.Unix(fields.CreatedAt, 0).UTC().Format(time.RFC3339), "source_module": source,
		})
		if got != string(want) {
			t.Errorf("source %q:\n tokenflow %s\n   python  %s", source, got, want)
		}
	}
}

func TestDecodeErrorsNameTheProblem(t *testing.T) {
	_, fixture := loadPythonFixture(t)
	file := string(fixture)
	const canary = "eyJhbGciOiJIUzI1NiJ9.Y2FuYXJ5LWNhbmFyeQ.c2lnbmF0dXJlLWNhbmFyeQ"
	canaryFile := strings.Replace(file, file[strings.Index(file, "<access_token>")+len("<access_token>"):strings.Index(file, "</access_token>")], canary, 1)
	without := func(elem string) string {
		i := strings.Index(canaryFile, "<"+elem+">")
		j := strings.Index(canaryFile, "</"+elem+">") + len("</"+elem+">")
		return canaryFile[:i] + canaryFile[j:]
	}
	h := pure(t)
	for _, tc := range []struct{ name, content, want string }{
		{"empty", "", "the content is empty"},
		{"truncated", canaryFile[:len(canaryFile)/2], "truncated"},
		{"truncated before the root closes", strings.TrimSuffix(canaryFile, "</hx_api_token>"), "truncated"},
		{"not XML", "access_token=" + canary, "not XML"},
		{"JSON", `{"access_token": "` + canary + `"}`, "not XML"},
		{"bad XML", strings.Replace(canaryFile, "</token_type>", "</token_typ>", 1), "not well-formed XML: line 1"},
		{"text after the root", canaryFile + " and " + canary, "unexpected text after </hx_api_token>"},
		{"wrong root", strings.ReplaceAll(canaryFile, "hx_api_token>", "token_file>"), "the root element is <token_file>, want <hx_api_token>"},
		{"no access_token", without("access_token"), "missing element token/access_token"},
		{"no refresh_token", without("refresh_token"), "missing element token/refresh_token"},
		{"no token_type", without("token_type"), "missing element token/token_type"},
		{"no human_readable_time", without("human_readable_time"), "missing element creation_time_format/human_readable_time"},
		{"no unix_timestamp_time", without("unix_timestamp_time"), "missing element creation_time_format/unix_timestamp_time"},
		{"no source_module", without("source_module"), "missing element source_module"},
		{"no times", without("creation_time_format"), "missing elements creation_time_format/human_readable_time, creation_time_format/unix_timestamp_time"},
		{"empty refresh_token", strings.Replace(canaryFile, "<refresh_token>5f0c9a3be1d24f6a8c7b0e2d4f6a8c9b1d3e5f7a9c0b2d4e6f8a0c2e4b6d8f0a</refresh_token>", "<refresh_token />", 1), "element token/refresh_token is empty"},
		{"junk after the root", canaryFile + "<extra/>", "after </hx_api_token>"},
		{"doctype", `<!DOCTYPE hx_api_token [<!ENTITY x "y">]>` + canaryFile, "document type declarations"},
		{"no time", strings.Replace(strings.Replace(canaryFile, "Monday, June 01, 2026 at 08:00:00 AM UTC", "yesterday", 1), "1780300800", "soon", 1), "holds a time"},
	} {
		_, err := h.Call("decode_token_file", noConn, map[string]any{"content": tc.content})
		e, ok := err.(*sdk.Error)
		if !ok || e.Code != sdk.CodeInvalidArgument || e.Param != "content" || !strings.Contains(e.Message, "not a usable HyperFlex token file") || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: got %v, want invalid_argument about content containing %q", tc.name, err, tc.want)
			continue
		}
		for _, secret := range []string{canary, "Y2FuYXJ5LWNhbmFyeQ", "5f0c9a3be1d24f6a8c7b0e2d4f6a8c9b"} {
			if strings.Contains(e.Message, secret) {
				t.Errorf("%s: the error quotes a token: %v", tc.name, e)
			}
		}
		out, err := h.Call("decode_token_file", noConn, map[string]any{"content": tc.content, "invalid_ok": true})
		if err != nil || out["ok"] != false || !strings.Contains(out["error"].(string), tc.want) || out["access_token"] != nil {
			t.Errorf("%s with invalid_ok: %v, %v", tc.name, out, err)
		}
	}
}

func TestDecodeAcceptsAHandEditedFile(t *testing.T) {
	f, _ := loadPythonFixture(t)
	content := `<?xml version="1.0" encoding="UTF-8"?>
<!-- copied from the old jump host -->
<hx_api_token>
  <token>
    <access_token>` + f.AccessToken + `</access_token>
    <refresh_token>` + f.RefreshToken + `</refresh_token>
    <token_type>Bearer</token_type>
  </token>
  <creation_time_format>
    <human_readable_time>Monday, June 01, 2026 at 08:00:00 AM UTC</human_readable_time>
    <unix_timestamp_time>1780300800</unix_timestamp_time>
  </creation_time_format>
  <source_module>N/A</source_module>
  <note>extra elements are ignored, as the Python tool ignores them</note>
</hx_api_token>
`
	got, err := pure(t).Call("decode_token_file", noConn, map[string]any{"content": content})
	if err != nil {
		t.Fatal(err)
	}
	if got["access_token"] != f.AccessToken || got["refresh_token"] != f.RefreshToken || got["created_at"] != "2026-06-01T08:00:00Z" {
		t.Fatalf("got %v", got)
	}
}

// The Python tool's unix_timestamp_time is shifted by the local zone offset on machines not
// set to UTC; the human-readable time is always true UTC and wins.
func TestCreatedAtPrefersTheHumanReadableTime(t *testing.T) {
	_, fixture := loadPythonFixture(t)
	shifted := strings.Replace(string(fixture), "1780300800", "1780318800", 1) // written in UTC-5
	got, err := pure(t).Call("decode_token_file", noConn, map[string]any{"content": shifted})
	if err != nil {
		t.Fatal(err)
	}
	if got["created_at"] != "2026-06-01T08:00:00Z" || got["unix_timestamp_time"] != int64(1780318800) {
		t.Fatalf("got created_at %v unix %v", got["created_at"], got["unix_timestamp_time"])
	}
}

func TestEncodeRefusesWhatXMLCannotCarry(t *testing.T) {
	h := pure(t)
	base := map[string]any{"access_token": "a.b.c", "refresh_token": "r", "created_at": "2026-06-01T08:00:00Z"}
	for param, v := range map[string]string{"source_module": "bell\x07", "access_token": "  ", "token_type": "nul\x00"} {
		args := map[string]any{}
		for k, x := range base {
			args[k] = x
		}
		args[param] = v
		_, err := h.Call("encode_token_file", noConn, args)
		e, ok := err.(*sdk.Error)
		if !ok || e.Code != sdk.CodeInvalidArgument || e.Param != param {
			t.Errorf("%s=%q: got %v", param, v, err)
		}
	}
}
