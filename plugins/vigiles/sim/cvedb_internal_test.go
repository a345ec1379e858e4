package sim

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.11", "1.2.13", -1},
		{"3.0.10", "3.0.9", 1},
		{"5.15.71", "5.15.25", 1},
		{"1.2", "1.2.1", -1},
		{"1.1.1o", "1.1.1p", -1},
		{"2024.84", "2022.83", 1},
		{"1.0", "1.rc1", 1},
		{"2.35", "2.35", 0},
	} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestAffects(t *testing.T) {
	c := CVE{Introduced: "3.0.0", FixedIn: "3.0.7"}
	for v, want := range map[string]bool{"2.9": false, "3.0.0": true, "3.0.6": true, "3.0.7": false, "": false} {
		if got := c.affects(v); got != want {
			t.Errorf("affects(%q) = %v, want %v", v, got, want)
		}
	}
	if !(CVE{}).affects("1") {
		t.Error("a CVE with no range affects every version")
	}
}
