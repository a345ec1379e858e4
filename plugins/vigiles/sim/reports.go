package sim

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Reports: list, rescan, latest, download and compare. See render.go for
// the download formats.

func (s *Sim) listReports(w http.ResponseWriter, r *request) {
	s.inManifest(w, r, func(m *Manifest) {
		reports := []any{}
		for _, rep := range m.Reports {
			reports = append(reports, map[string]any{
				"created_date": rep.Created.UTC().Format(dateFormat), "report_token": rep.Token,
				"manifest_token": m.Token, "manifest_version": "1",
			})
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"manifest_token": m.Token, "manifest_name": m.Name, "reports": reports})
	})
}

func (s *Sim) rescan(w http.ResponseWriter, r *request) {
	rescanOnly, ok := boolParam(w, r, "rescan_only")
	if !ok {
		return
	}
	if _, ok := boolParam(w, r, "filtered"); !ok {
		return
	}
	fields, ok := withFields(w, r)
	if !ok {
		return
	}
	s.inManifest(w, r, func(m *Manifest) {
		if t := r.params.Get("manifest"); t != "" && t != m.Token {
			fail(w, http.StatusBadRequest, "manifest does not match the manifest token in the URL")
			return
		}
		pm := &parsedManifest{name: m.Name, packages: m.Packages, whitelist: m.Whitelist}
		rep := s.scanManifest(m, pm, s.clock.Now())
		if rescanOnly {
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "report_token": rep.Token})
			return
		}
		v := s.reportView(m, rep, fields)
		v["exported_manifest"] = spdxDocument(m, "")
		simkit.WriteJSON(w, http.StatusOK, v)
	})
}

func (s *Sim) latestReport(w http.ResponseWriter, r *request) {
	if _, ok := boolParam(w, r, "filtered"); !ok {
		return
	}
	fields, ok := withFields(w, r)
	if !ok {
		return
	}
	s.inManifest(w, r, func(m *Manifest) {
		if len(m.Reports) == 0 {
			fail(w, http.StatusNotFound, "no report exists for this manifest yet (it was uploaded with upload_only)")
			return
		}
		simkit.WriteJSON(w, http.StatusOK, s.reportView(m, m.Reports[len(m.Reports)-1], fields))
	})
}

// findReport returns a report by token. The state is locked.
func (st *state) findReport(token string) (*Manifest, *Report) {
	for _, m := range st.manifests {
		for i := range m.Reports {
			if m.Reports[i].Token == token {
				return m, &m.Reports[i]
			}
		}
	}
	return nil, nil
}

func (s *Sim) downloadReport(w http.ResponseWriter, r *request) {
	if _, ok := boolParam(w, r, "filtered"); !ok {
		return
	}
	format := r.params.Get("format")
	render, ok := reportFormats[format]
	if !ok {
		fail(w, http.StatusBadRequest, "Invalid or missing 'format' arg. Acceptable values: csv, pdf, pdfsummary, xlsx")
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	m, rep := s.st.findReport(r.PathValue("token"))
	if rep == nil {
		fail(w, http.StatusNotFound, "report not found")
		return
	}
	body := render.render(m, rep)
	w.Header().Set("Content-Type", render.contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "report-"+rep.Token+"."+render.ext))
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

func (s *Sim) compareReports(w http.ResponseWriter, r *request) {
	for _, b := range []string{"remove_whitelist", "filtered"} {
		if _, ok := boolParam(w, r, b); !ok {
			return
		}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	_, one := s.st.findReport(r.params.Get("token_one"))
	_, two := s.st.findReport(r.params.Get("token_two"))
	if one == nil || two == nil {
		fail(w, http.StatusNotFound, "report not found")
		return
	}
	ids := func(rep *Report) map[string]bool {
		m := map[string]bool{}
		for _, f := range rep.Findings {
			if f.Open() {
				m[f.CVE.ID] = true
			}
		}
		return m
	}
	a, b := ids(one), ids(two)
	resolved, added := []string{}, []string{}
	for id := range a {
		if !b[id] {
			resolved = append(resolved, id)
		}
	}
	for id := range b {
		if !a[id] {
			added = append(added, id)
		}
	}
	slices.Sort(resolved)
	slices.Sort(added)
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"resolved": resolved, "new": added})
}
