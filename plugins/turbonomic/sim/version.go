package sim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultXLVersion is the release a new simulator reports.
const DefaultXLVersion = "8.14.3"

// VersionReport is the answer of GET admin/versions. Tests set any VersionInfo they like (an
// old release, a -SNAPSHOT build, text no client can parse) with SetVersion.
type VersionReport struct {
	VersionInfo   string `json:"versionInfo"`
	Version       string `json:"version,omitempty"`
	Build         string `json:"build,omitempty"`
	Branch        string `json:"branch,omitempty"`
	MarketVersion int    `json:"marketVersion,omitempty"`
	Updates       string `json:"updates"`
}

// xlComponents are the component lines XL lists under the first line of versionInfo;
// "action-orchestrator: " is what clients use to tell XL from Classic.
var xlComponents = []string{
	"action-orchestrator", "api", "auth", "clustermgr", "cost", "group", "history", "market",
	"plan-orchestrator", "repository", "topology-processor",
}

var classicComponents = []string{"vmturbo", "reporting", "operations-manager"}

const buildStamp = "20240805161930000"

// XLVersion returns the report of an XL appliance at release v ("8.14.3", or "8.14.3-SNAPSHOT"
// for a development build).
func XLVersion(v string) VersionReport {
	return report(v, xlComponents, 2)
}

// ClassicVersion returns the report of a Classic (pre-XL) appliance at release v.
func ClassicVersion(v string) VersionReport {
	return report(v, classicComponents, 1)
}

func report(v string, components []string, market int) VersionReport {
	base, _, _ := strings.Cut(v, "-")
	var b strings.Builder
	fmt.Fprintf(&b, "Turbonomic Operations Manager %s (Build %q) %q\n\n", v, buildStamp, "2024-08-05 16:33:56")
	for _, c := range components {
		fmt.Fprintf(&b, "%s: %s\n", c, v)
	}
	return VersionReport{
		VersionInfo:   b.String(),
		Version:       v,
		Build:         buildStamp,
		Branch:        base,
		MarketVersion: market,
	}
}

// versions is GET /api/v3/admin/versions, served without authentication: vmt-connect probes it
// before logging in.
func (s *Sim) versions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	respond(http.StatusOK, v).write(w)
}

// authedVersions is admin/versions behind a login (Config.VersionsNeedLogin). Callers hold s.mu.
func (s *Sim) authedVersions(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	return respond(http.StatusOK, s.version)
}
