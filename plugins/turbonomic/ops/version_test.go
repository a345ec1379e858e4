package ops

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/sdk"
)

const xlInfo = "Turbonomic Operations Manager 8.14.3 (Build \"20240805161930000\") \"2024-08-05 16:33:56\"\n\naction-orchestrator: 8.14.3\napi: 8.14.3\n"

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name string
		in   versionsResponse
		want applianceVersion
		err  string
	}{
		{name: "xl", in: versionsResponse{VersionInfo: xlInfo, Version: "8.14.3", Build: "20240805161930000", Branch: "8.14.3", MarketVersion: 2},
			want: applianceVersion{Product: "Turbonomic", Version: "8.14.3", BaseVersion: "8.14.3", Build: "20240805161930000", Branch: "8.14.3", MarketVersion: 2, XL: true}},
		{name: "fields missing: from versionInfo", in: versionsResponse{VersionInfo: "Turbonomic Operations Manager 7.22.1 (Build 20200101)\n\naction-orchestrator: 7.22.1\n"},
			want: applianceVersion{Product: "Turbonomic", Version: "7.22.1", BaseVersion: "7.22.1", Build: "20200101", XL: true}},
		{name: "classic has no action-orchestrator", in: versionsResponse{VersionInfo: "Turbonomic Operations Manager 6.4.10 (Build \"1\")\n\nvmturbo: 6.4.10\n", Version: "6.4.10"},
			want: applianceVersion{Product: "Turbonomic", Version: "6.4.10", BaseVersion: "6.4.10", Build: "1"}},
		{name: "snapshot suffix", in: versionsResponse{VersionInfo: strings.Replace(xlInfo, "8.14.3 (", "8.14.3-SNAPSHOT (", 1), Version: "8.14.3-SNAPSHOT"},
			want: applianceVersion{Product: "Turbonomic", Version: "8.14.3", Extra: "-SNAPSHOT", BaseVersion: "8.14.3", Build: "20240805161930000", Snapshot: true, XL: true}},
		{name: "snapshot only in build field", in: versionsResponse{VersionInfo: xlInfo, Version: "8.14.3", Build: "20240805-SNAPSHOT"},
			want: applianceVersion{Product: "Turbonomic", Version: "8.14.3", BaseVersion: "8.14.3", Build: "20240805-SNAPSHOT", Snapshot: true, XL: true}},
		{name: "cisco is CWOM with its base version", in: versionsResponse{VersionInfo: "Cisco Workload Optimization Manager 3.1.2 (Build \"5\")\n\naction-orchestrator: 8.1.2\n", Version: "8.1.2"},
			want: applianceVersion{Product: "CWOM", Version: "3.1.2", BaseVersion: "8.1.2", Build: "5", XL: true}},
		{name: "not turbonomic", in: versionsResponse{VersionInfo: "<html>hello</html>"}, err: "does not look like"},
		{name: "two parts", in: versionsResponse{VersionInfo: "Turbonomic Operations Manager 8.14 (Build 1)"}, err: "at least three numbers"},
		{name: "garbage base version", in: versionsResponse{VersionInfo: xlInfo, Version: "eight"}, err: "at least three numbers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseVersion(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", v, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v.parts = nil
			if !reflect.DeepEqual(*v, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", *v, tc.want)
			}
		})
	}
}

func TestVersionSpec(t *testing.T) {
	xl := func(s string) *applianceVersion {
		p, _ := versionParts(s)
		return &applianceVersion{Product: "Turbonomic", Version: s, BaseVersion: s, XL: true, parts: p}
	}
	classic := func(s string) *applianceVersion { v := xl(s); v.XL = false; return v }
	cases := []struct {
		spec string
		v    *applianceVersion
		ok   bool
	}{
		{"", xl("7.21.0"), true},
		{"", xl("7.20.9"), false},
		{"", xl("8.0.1"), true},
		{"", classic("6.1.0"), true},
		{"", classic("6.0.12"), false},
		{"7.21+", xl("7.21"), true},
		{"7.21", xl("7.21.0.0"), true},
		{"7.21", xl("7.21.1"), false},
		{"8.14.3", xl("8.14.3"), true},
		{"8.0-8.14.3", xl("8.14.3"), true},
		{"8.0-8.14.3", xl("8.14.4"), false},
		{"8.0-8.14.3", xl("7.99.0"), false},
		{"8.0+, !8.1.2", xl("8.1.2"), false},
		{"8.0+, !8.1.2", xl("8.1.3"), true},
		{"!8.1+", xl("8.0.9"), true}, // only exclusions: the platform default applies
		{"!8.1+", xl("8.1.0"), false},
		{"!8.1+", xl("7.20.0"), false},
		{"6.4.1, 7.22+", classic("6.4.1"), true},
		{"6.4.1, 7.22+", classic("6.4.2"), false},
		{"8.100+", xl("8.99.0"), false}, // numeric, not string, comparison
	}
	for _, tc := range cases {
		spec, err := parseVersionSpec(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		e := spec.check(tc.v, false)
		if (e == nil) != tc.ok {
			t.Errorf("spec %q on %s %s: got %v, want ok=%v", tc.spec, tc.v.Platform(), tc.v.BaseVersion, e, tc.ok)
		}
		if e != nil && e.Code != sdk.CodePermissionDenied {
			t.Errorf("spec %q: code %s", tc.spec, e.Code)
		}
	}
	for _, bad := range []string{"seven+", "8.x", "8.2-8.1", "!", "8..1"} {
		if _, err := parseVersionSpec(bad); err == nil {
			t.Errorf("spec %q parsed", bad)
		}
	}
	snap := xl("8.14.3")
	snap.Snapshot, snap.Extra = true, "-SNAPSHOT"
	spec, _ := parseVersionSpec("")
	if e := spec.check(snap, false); e == nil || !strings.Contains(e.Message, "allow_snapshot") {
		t.Fatalf("snapshot: %v", e)
	}
	if e := spec.check(snap, true); e != nil {
		t.Fatalf("allowed snapshot: %v", e)
	}
}

func TestSnakeKey(t *testing.T) {
	for in, want := range map[string]string{
		"uuid": "uuid", "displayName": "display_name", "memberUuidList": "member_uuid_list",
		"showSharedUserSC": "show_shared_user_sc", "isXL": "is_xl", "apiV3Path": "api_v3_path", "HTTPCode": "http_code",
	} {
		if got := snakeKey(in); got != want {
			t.Errorf("snakeKey(%q) = %q, want %q", in, got, want)
		}
	}
}
