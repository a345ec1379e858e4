package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

const dateFormat = time.RFC3339

func (st *state) product(token string) *Product {
	for _, p := range st.products {
		if p.Token == token {
			return p
		}
	}
	return nil
}

func (st *state) folder(token string) *Folder {
	for _, f := range st.folders {
		if f.Token == token {
			return f
		}
	}
	return nil
}

func (st *state) manifest(token string) *Manifest {
	for _, m := range st.manifests {
		if m.Token == token {
			return m
		}
	}
	return nil
}

// boolParam reads a Python-style boolean: absent is false, True and False are
// what the clients send; anything else is a 400.
func boolParam(w http.ResponseWriter, r *request, name string) (bool, bool) {
	switch v := r.params.Get(name); v {
	case "", "False":
		return false, true
	case "True":
		return true, true
	default:
		fail(w, http.StatusBadRequest, fmt.Sprintf("%s must be True or False, not %q", name, v))
		return false, false
	}
}

var extraFields = []string{"assigner", "description", "impact", "modified", "problem_types", "published", "references"}

func withFields(w http.ResponseWriter, r *request) ([]string, bool) {
	fs := r.params["with_field"]
	for _, f := range fs {
		if !slices.Contains(extraFields, f) {
			fail(w, http.StatusBadRequest, fmt.Sprintf("unknown with_field %q (want one of %s)", f, strings.Join(extraFields, ", ")))
			return nil, false
		}
	}
	return fs, true
}

func (s *Sim) heartbeat(w http.ResponseWriter, r *request) {
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func productView(p *Product) map[string]any {
	return map[string]any{"name": p.Name, "description": p.Description, "token": p.Token}
}

func (s *Sim) listProducts(w http.ResponseWriter, r *request) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := []any{}
	for _, p := range s.st.products {
		out = append(out, productView(p))
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) createProduct(w http.ResponseWriter, r *request) {
	name := strings.TrimSpace(r.params.Get("name"))
	if name == "" {
		fail(w, http.StatusBadRequest, "name is required")
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	p := &Product{Token: simkit.RandomHex(16), Name: name, Description: r.params.Get("desc"), Created: s.clock.Now()}
	s.st.products = append(s.st.products, p)
	simkit.WriteJSON(w, http.StatusOK, productView(p))
}

func (s *Sim) getProduct(w http.ResponseWriter, r *request) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	p := s.st.product(r.PathValue("token"))
	if p == nil {
		fail(w, http.StatusNotFound, "product not found")
		return
	}
	v := productView(p)
	v["is_default"] = p.IsDefault
	v["created"] = p.Created.UTC().Format(dateFormat)
	simkit.WriteJSON(w, http.StatusOK, v)
}

func folderView(f *Folder) map[string]any {
	return map[string]any{
		"folder_token": f.Token, "folder_name": f.Name, "folder_description": f.Description,
		"creation_date": f.Created.UTC().Format(dateFormat), "product_token": f.ProductToken,
	}
}

// productParam reads product_token, or group_token as enterprise servers call it.
func productParam(r *request) string {
	if p := r.params.Get("product_token"); p != "" {
		return p
	}
	return r.params.Get("group_token")
}

func (s *Sim) listFolders(w http.ResponseWriter, r *request) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	pt := productParam(r)
	if pt != "" && s.st.product(pt) == nil {
		fail(w, http.StatusNotFound, "product not found")
		return
	}
	out := []any{}
	for _, f := range s.st.folders {
		if pt == "" || f.ProductToken == pt {
			out = append(out, folderView(f))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func manifestView(m *Manifest) map[string]any {
	return map[string]any{
		"manifest_name": m.Name, "manifest_token": m.Token, "product_token": m.ProductToken,
		"folder_token": m.FolderToken, "upload_date": m.Uploaded.UTC().Format(dateFormat),
	}
}

func (s *Sim) listManifests(w http.ResponseWriter, r *request) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	ft, pt := r.params.Get("folder_token"), productParam(r)
	switch {
	case ft != "":
		if s.st.folder(ft) == nil {
			fail(w, http.StatusNotFound, "folder not found")
			return
		}
		pt = ""
	case pt != "":
		if s.st.product(pt) == nil {
			fail(w, http.StatusNotFound, "product not found")
			return
		}
	}
	out := []any{}
	for _, m := range s.st.manifests {
		if (ft == "" || m.FolderToken == ft) && (pt == "" || m.ProductToken == pt) {
			out = append(out, manifestView(m))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) uploadManifest(w http.ResponseWriter, r *request) {
	content := r.params.Get("manifest")
	if strings.TrimSpace(content) == "" {
		fail(w, http.StatusBadRequest, "manifest data is required")
		return
	}
	filtered, ok := boolParam(w, r, "filter_results")
	if !ok {
		return
	}
	_ = filtered // no dashboard filters are configured in the simulator
	uploadOnly, ok := boolParam(w, r, "upload_only")
	if !ok {
		return
	}
	fields, ok := withFields(w, r)
	if !ok {
		return
	}
	pm, err := parseManifest(content)
	if err != nil {
		fail(w, http.StatusPreconditionFailed, "The manifest is malformed or missing fields: "+strings.TrimPrefix(err.Error(), errMalformed.Error()+": "))
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.clock.Now()
	pt, ft, sub := productParam(r), r.params.Get("folder_token"), strings.TrimSpace(r.params.Get("subfolder_name"))
	if pt == "" {
		// The Private Workspace has no folders: folder and subfolder are ignored.
		pt, ft, sub = PrivateWorkspaceToken, "", ""
	}
	if s.st.product(pt) == nil {
		fail(w, http.StatusNotFound, "product not found")
		return
	}
	if ft != "" {
		f := s.st.folder(ft)
		if f == nil || f.ProductToken != pt {
			fail(w, http.StatusNotFound, "folder not found in the product")
			return
		}
	}
	if sub != "" {
		var found *Folder
		for _, f := range s.st.folders {
			if f.ProductToken == pt && f.ParentToken == ft && f.Name == sub {
				found = f
			}
		}
		if found == nil {
			found = &Folder{Token: simkit.RandomHex(16), Name: sub, ProductToken: pt, ParentToken: ft, Created: now}
			s.st.folders = append(s.st.folders, found)
		}
		ft = found.Token
	}
	name := r.params.Get("manifest_name")
	if name == "" {
		name = pm.name
	}
	if name == "" {
		name = fmt.Sprintf("manifest-%d", len(s.st.manifests)+1)
	}
	m := &Manifest{
		Token: simkit.RandomHex(16), Name: name, ProductToken: pt, FolderToken: ft, Uploaded: now,
		Content: content, Packages: pm.packages, Whitelist: pm.whitelist,
		KernelConfig: r.params.Get("kernel_config"), UBootConfig: r.params.Get("uboot_config"),
	}
	s.st.manifests = append(s.st.manifests, m)
	if uploadOnly {
		p := s.st.product(pt)
		simkit.WriteJSON(w, http.StatusOK, map[string]any{
			"manifest_token": m.Token, "manifest_name": m.Name, "product_token": pt, "folder_token": ft,
			"product_path": "/vigiles/products/" + pt, "product_name": p.Name, "date": now.UTC().Format(dateFormat),
		})
		return
	}
	rep := s.scanManifest(m, pm, now)
	v := s.reportView(m, rep, fields)
	v["exported_manifest"] = spdxDocument(m, "")
	simkit.WriteJSON(w, http.StatusOK, v)
}

// scanManifest adds a report to m. The state is locked.
func (s *Sim) scanManifest(m *Manifest, pm *parsedManifest, now time.Time) Report {
	findings, wl := scan(pm, s.cves)
	rep := Report{Token: simkit.RandomHex(16), Created: now, Findings: findings, Whitelisted: wl}
	m.Reports = append(m.Reports, rep)
	return rep
}

func (s *Sim) reportView(m *Manifest, rep Report, fields []string) map[string]any {
	cves := map[string][]map[string]any{}
	for _, f := range rep.Findings {
		c := map[string]any{
			"cve_id": f.CVE.ID, "version": f.Version, "cvss": f.CVE.CVSS, "vector": f.CVE.Vector, "status": f.Status,
		}
		if len(f.FixedBy) > 0 {
			c["fixedby"] = f.FixedBy
		}
		for _, field := range fields {
			c[field] = f.CVE.extra(field)
		}
		cves[f.Package] = append(cves[f.Package], c)
	}
	return map[string]any{
		"manifest_token": m.Token, "manifest_name": m.Name, "product_token": m.ProductToken,
		"folder_token": m.FolderToken, "date": rep.Created.UTC().Format(dateFormat),
		"report_path": "/vigiles/reports/" + rep.Token, "product_path": "/vigiles/products/" + m.ProductToken,
		"cves": cves, "counts": counts(rep.Findings, rep.Whitelisted),
	}
}

// inManifest runs fn with the state locked and the path's manifest, or answers 404.
func (s *Sim) inManifest(w http.ResponseWriter, r *request, fn func(m *Manifest)) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	m := s.st.manifest(r.PathValue("token"))
	if m == nil {
		fail(w, http.StatusNotFound, "manifest not found")
		return
	}
	fn(m)
}

func (s *Sim) getManifest(w http.ResponseWriter, r *request) {
	sendFile, ok := boolParam(w, r, "send_file")
	if !ok {
		return
	}
	format, version, ok := exportParams(w, r)
	if !ok {
		return
	}
	s.inManifest(w, r, func(m *Manifest) {
		if format != "" {
			writeExport(w, m, format, version, sendFile)
			return
		}
		if sendFile {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(m.Content))
			return
		}
		v := manifestView(m)
		v["manifest_data"] = m.Content
		simkit.WriteJSON(w, http.StatusOK, v)
	})
}

func (s *Sim) deleteManifest(w http.ResponseWriter, r *request) {
	confirmed, ok := boolParam(w, r, "confirmed")
	if !ok {
		return
	}
	s.inManifest(w, r, func(m *Manifest) {
		if !confirmed {
			fail(w, http.StatusBadRequest, "Deleting a manifest cannot be undone: pass confirmed=True")
			return
		}
		s.st.manifests = slices.DeleteFunc(s.st.manifests, func(x *Manifest) bool { return x == m })
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Manifest " + m.Name + " deleted"})
	})
}

func (s *Sim) searchCVEs(w http.ResponseWriter, r *request) {
	product := r.params.Get("product")
	if product == "" {
		fail(w, http.StatusBadRequest, "product is required")
		return
	}
	idsOnly, ok := boolParam(w, r, "ids_only")
	if !ok {
		return
	}
	version := r.params.Get("version")
	ids := []string{}
	descs := map[string]string{}
	for _, c := range s.cves {
		if c.Product != product || (version != "" && !c.affects(version)) {
			continue
		}
		ids = append(ids, c.ID)
		descs[c.ID] = c.Description
	}
	slices.Sort(ids)
	if idsOnly {
		simkit.WriteJSON(w, http.StatusOK, ids)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, descs)
}

var cveFields = []string{"affected_configurations", "assigner", "description", "identifier", "impact", "modified", "problem_types", "published", "references"}

func (s *Sim) getCVE(w http.ResponseWriter, r *request) {
	id := strings.ToUpper(r.PathValue("id"))
	i := slices.IndexFunc(s.cves, func(c CVE) bool { return c.ID == id })
	if i < 0 {
		fail(w, http.StatusNotFound, "CVE not found")
		return
	}
	c := s.cves[i]
	all := map[string]any{
		"identifier": c.ID, "affected_configurations": map[string]any{"product": c.Product, "introduced": c.Introduced, "fixed": c.FixedIn},
	}
	for _, f := range extraFields {
		all[f] = c.extra(f)
	}
	fields := r.params["fields"]
	if len(fields) == 0 {
		simkit.WriteJSON(w, http.StatusOK, all)
		return
	}
	out := map[string]any{}
	for _, f := range fields {
		if !slices.Contains(cveFields, f) {
			fail(w, http.StatusBadRequest, fmt.Sprintf("unknown field %q", f))
			return
		}
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}
