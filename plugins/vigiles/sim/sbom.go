package sim

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// SBOM export: the toolkit's get_manifest_info / get_manifest_file take
// sbom_format ("spdx"; the successor adds "spdx-lite", tag-value, and
// "cyclonedx"), file_format and sbom_version; upload and rescan answer with
// exported_manifest, "the manifest data in SPDX format". The documents below
// are valid SPDX 2.3 and CycloneDX JSON built from the manifest's packages;
// what Vigiles itself puts in them beyond that (its namespaces, creators,
// supplier fields) is unverified. Every value derives from the manifest, so
// an export is deterministic.

// sbomFormats are the sbom_format values the successor toolkit documents.
var sbomFormats = []string{"spdx", "spdx-lite", "cyclonedx"}

// sbomVersions are the versions the simulator renders; the first is the default.
var sbomVersions = map[string][]string{
	"spdx":      {"2.3", "2.2"},
	"spdx-lite": {"2.3", "2.2"},
	"cyclonedx": {"1.4", "1.5", "1.6"},
}

var idChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxID(name string) string { return "SPDXRef-Package-" + idChars.ReplaceAllString(name, "-") }

// cpe is the CPE 2.3 name the package is scanned as.
func (p Package) cpe() string {
	return fmt.Sprintf("cpe:2.3:a:*:%s:%s:*:*:*:*:*:*:*", p.products()[0], p.scanVersion())
}

// spdxDocument renders m as an SPDX JSON document ("" = the default version).
func spdxDocument(m *Manifest, version string) map[string]any {
	if version == "" {
		version = sbomVersions["spdx"][0]
	}
	pkgs := []any{}
	rels := []any{}
	for _, p := range m.Packages {
		pkgs = append(pkgs, map[string]any{
			"SPDXID": spdxID(p.Name), "name": p.Name, "versionInfo": p.Version,
			"downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION", "copyrightText": "NOASSERTION",
			"externalRefs": []any{map[string]any{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": p.cpe()}},
		})
		rels = append(rels, map[string]any{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": spdxID(p.Name)})
	}
	return map[string]any{
		"spdxVersion": "SPDX-" + version, "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
		"name": m.Name, "documentNamespace": "http://spdx.org/spdxdocs/" + idChars.ReplaceAllString(m.Name, "-") + "-" + m.Token,
		"creationInfo": map[string]any{"created": m.Uploaded.UTC().Format(dateFormat), "creators": []string{"Tool: Vigiles"}},
		"packages":     pkgs, "relationships": rels,
	}
}

// spdxTagValue renders m in SPDX's tag-value form ("spdx-lite").
func spdxTagValue(m *Manifest, version string) string {
	if version == "" {
		version = sbomVersions["spdx-lite"][0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SPDXVersion: SPDX-%s\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: %s\n", version, m.Name)
	fmt.Fprintf(&b, "DocumentNamespace: http://spdx.org/spdxdocs/%s-%s\n", idChars.ReplaceAllString(m.Name, "-"), m.Token)
	fmt.Fprintf(&b, "Creator: Tool: Vigiles\nCreated: %s\n", m.Uploaded.UTC().Format(dateFormat))
	for _, p := range m.Packages {
		fmt.Fprintf(&b, "\nPackageName: %s\nSPDXID: %s\nPackageVersion: %s\nPackageDownloadLocation: NOASSERTION\n", p.Name, spdxID(p.Name), p.Version)
		fmt.Fprintf(&b, "ExternalRef: SECURITY cpe23Type %s\n", p.cpe())
		fmt.Fprintf(&b, "Relationship: SPDXRef-DOCUMENT DESCRIBES %s\n", spdxID(p.Name))
	}
	return b.String()
}

// cyclonedxDocument renders m as a CycloneDX JSON BOM.
func cyclonedxDocument(m *Manifest, version string) map[string]any {
	if version == "" {
		version = sbomVersions["cyclonedx"][0]
	}
	sum := sha256.Sum256([]byte(m.Token))
	serial := fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	comps := []any{}
	for _, p := range m.Packages {
		comps = append(comps, map[string]any{
			"type": "library", "bom-ref": spdxID(p.Name), "name": p.Name, "version": p.Version,
			"cpe": p.cpe(), "purl": fmt.Sprintf("pkg:generic/%s@%s", p.Name, p.Version),
		})
	}
	return map[string]any{
		"bomFormat": "CycloneDX", "specVersion": version, "serialNumber": serial, "version": 1,
		"metadata": map[string]any{
			"timestamp": m.Uploaded.UTC().Format(dateFormat),
			"tools":     []any{map[string]any{"vendor": "Timesys", "name": "Vigiles"}},
			"component": map[string]any{"type": "firmware", "name": m.Name},
		},
		"components": comps,
	}
}

// exportParams reads sbom_format, file_format and sbom_version. ok is false
// when an answer was written. format "" means the manifest as uploaded.
func exportParams(w http.ResponseWriter, r *request) (format, version string, ok bool) {
	format, version = r.params.Get("sbom_format"), r.params.Get("sbom_version")
	fileFormat := r.params.Get("file_format")
	if format == "" {
		if version != "" || fileFormat != "" {
			fail(w, http.StatusBadRequest, "sbom_version and file_format need sbom_format")
			return "", "", false
		}
		return "", "", true
	}
	versions, known := sbomVersions[format]
	if !known {
		fail(w, http.StatusBadRequest, fmt.Sprintf("sbom_format must be one of %s, not %q", strings.Join(sbomFormats, ", "), format))
		return "", "", false
	}
	if version != "" && !slices.Contains(versions, version) {
		fail(w, http.StatusBadRequest, fmt.Sprintf("sbom_version %q is not one of %s for %s", version, strings.Join(versions, ", "), format))
		return "", "", false
	}
	// The values file_format takes are undocumented; JSON is what the toolkit
	// describes ("CycloneDX JSON format"), tag-value is spdx-lite's own.
	want := "json"
	if format == "spdx-lite" {
		want = "tag"
	}
	if fileFormat != "" && fileFormat != want {
		fail(w, http.StatusBadRequest, fmt.Sprintf("file_format %q: the simulator renders %s as %s only", fileFormat, format, want))
		return "", "", false
	}
	return format, version, true
}

// writeExport answers with m converted to format, as a file (sendFile) or
// as manifest_data beside the manifest's metadata.
func writeExport(w http.ResponseWriter, m *Manifest, format, version string, sendFile bool) {
	var doc any
	switch format {
	case "spdx":
		doc = spdxDocument(m, version)
	case "cyclonedx":
		doc = cyclonedxDocument(m, version)
	case "spdx-lite":
		doc = spdxTagValue(m, version)
	}
	if sendFile {
		if s, ok := doc.(string); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(s))
			return
		}
		simkit.WriteJSON(w, http.StatusOK, doc)
		return
	}
	v := manifestView(m)
	v["manifest_data"] = doc
	simkit.WriteJSON(w, http.StatusOK, v)
}
