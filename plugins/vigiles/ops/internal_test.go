package ops

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNoteKeepsShortMessagesAndSummarisesLongOnes(t *testing.T) {
	if got := note("POST/api/v1/heartbeatemail=a@b"); got != "POST/api/v1/heartbeatemail=a@b" {
		t.Fatalf("short note = %q", got)
	}
	long := "POST/api/v1/vigiles/manifestsemail=a@b&manifest=" + strings.Repeat("☃", 3000)
	got := note(long)
	want := fmt.Sprintf("... (%d bytes in all, sha256 %x)", len(long), sha256.Sum256([]byte(long)))
	if !strings.HasSuffix(got, want) || !utf8.ValidString(got) || len(got) > maxNote+len(want) || !strings.HasPrefix(got, long[:100]) {
		t.Fatalf("long note = %q...%q", got[:60], got[len(got)-120:])
	}
}

func TestPyStrip(t *testing.T) {
	if got := pyStrip(" \t\x1c\x1dkey \u00a0\u2003\n\x1f"); got != "key" {
		t.Fatalf("pyStrip = %q", got)
	}
	if got := pyStrip("a b"); got != "a b" {
		t.Fatalf("inner space stripped: %q", got)
	}
}

func TestSeverity(t *testing.T) {
	for score, want := range map[float64]string{10: "critical", 9.0: "critical", 8.9: "high", 7.0: "high", 6.9: "medium", 4.0: "medium", 3.9: "low", 0.1: "low", 0: "none", -1: "unknown"} {
		if got := severity(score); got != want {
			t.Errorf("severity(%v) = %s, want %s", score, got, want)
		}
	}
	for raw, want := range map[string]float64{`9.8`: 9.8, `"7.5"`: 7.5, `null`: -1, `""`: -1, `"n/a"`: -1, ``: -1} {
		if got := score(json.RawMessage(raw)); got != want {
			t.Errorf("score(%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestReportReadsCVEsAsMapOrList(t *testing.T) {
	for _, raw := range []string{
		`{"cves": {"zlib": [{"cve_id": "CVE-1", "cvss": 9.8, "status": "Unfixed"}], "a": [{"cve_id": "CVE-2", "cvss": "5.0", "status": "Fixed"}]}, "counts": {"unfixed": 1, "fixed": 1}, "report_path": "/vigiles/reports/r1"}`,
		`{"cves": [{"package": "a", "cve_id": "CVE-2", "cvss": "5.0", "status": "Fixed"}, {"package": "zlib", "cve_id": "CVE-1", "cvss": 9.8, "status": "Unfixed"}], "counts": {"unfixed": 1, "fixed": 1}, "report_path": "/vigiles/reports/r1"}`,
	} {
		var r report
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		out, err := r.result("https://vigiles.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		cves := out["cves"].([]any)
		if out["critical"] != int64(1) || out["medium"] != int64(0) || out["unfixed"] != int64(1) || out["fixed"] != int64(1) ||
			out["report_token"] != "r1" || out["report_url"] != "https://vigiles.example.com/vigiles/reports/r1" ||
			len(cves) != 2 || cves[0].(map[string]any)["package"] != "a" || cves[0].(map[string]any)["open"] != false {
			t.Errorf("result of %s = %v", raw, out)
		}
	}
}

func TestSameServer(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"https://vigiles.lynx.com", "https://vigiles.lynx.com/", true},
		{"https://Vigiles.Lynx.com", "https://vigiles.lynx.com", true},
		{"https://vigiles.lynx.com", "https://linuxlink.timesys.com", false},
		{"http://vigiles.lynx.com", "https://vigiles.lynx.com", false},
		{"https://h/base/", "https://h/base", true},
	} {
		if got := sameServer(c.a, c.b); got != c.want {
			t.Errorf("sameServer(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
