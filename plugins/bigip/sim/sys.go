package sim

import "net/http"

// sysCollection is GET /mgmt/tm/sys/. f5-common-python's ManagementRoot reads the TMOS version
// from the ver query parameter of its selfLink when it starts.
func (s *Sim) sysCollection() reply {
	ver := "?ver=" + s.version
	items := []map[string]Link{}
	for _, sub := range []string{"application", "crypto", "db", "global-settings", "httpd", "ntp", "performance", "provision", "software", "sshd", "version"} {
		items = append(items, map[string]Link{"reference": {Link: "https://" + advertisedHost + "/mgmt/tm/sys/" + sub + ver}})
	}
	return reply{status: http.StatusOK, body: map[string]any{
		"kind":     "tm:sys:syscollectionstate",
		"selfLink": "https://" + advertisedHost + "/mgmt/tm/sys" + ver,
		"items":    items,
	}}
}

type description struct {
	Description string `json:"description"`
}

// sysVersion is GET /mgmt/tm/sys/version (tm:sys:version:versionstats).
func (s *Sim) sysVersion() reply {
	entries := map[string]description{
		"Build":   {s.build},
		"Date":    {"Thu Oct 12 16:21:56 PDT 2023"},
		"Edition": {"Final"},
		"Product": {"BIG-IP"},
		"Title":   {"Main Package"},
		"Version": {s.version},
	}
	return reply{status: http.StatusOK, body: map[string]any{
		"kind":     "tm:sys:version:versionstats",
		"selfLink": "https://" + advertisedHost + "/mgmt/tm/sys/version?ver=" + s.version,
		"entries": map[string]any{
			"https://" + advertisedHost + "/mgmt/tm/sys/version/0": map[string]any{
				"nestedStats": map[string]any{"entries": entries},
			},
		},
	}}
}
