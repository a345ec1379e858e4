// Package sim is a loopback simulator of the Timesys Vigiles / LinuxLink API
// (vendors.md section 3): the heartbeat, products, folders, manifest upload,
// listing, download, SBOM export and deletion, reports (scan, rescan,
// latest, download as CSV, PDF or XLSX, compare) and the CVE search, all under /api/v1/vigiles except the
// heartbeat at /api/v1/heartbeat (the later toolkit's
// /api/v1/vigiles/heartbeat is served too).
//
// Every request must be signed. The simulator verifies the signature the way
// the service does, independently of the plugin: it reads the parameters
// where they travel (the form body of a POST, the query of anything else),
// rebuilds the message (method, path, the name=value pairs ordered by name
// and value, joined by "&", unescaped), computes HMAC-SHA256 keyed by the
// email's key and compares the standard base64 to X-Auth-Signature. A
// missing email or signature, an unknown email or a mismatch is a 403, as
// Vigiles answers invalid credentials. This package shares no code with the
// vigiles plugin, on purpose.
//
// Scans are deterministic: a manifest's packages (by their cve_product, else
// their name, and cve_version, else version) are matched against a small
// database of real CVE IDs with simplified version ranges (DefaultCVEs), so
// a test knows which CVEs, severities and counts a manifest yields. A
// package patch whose file name holds a CVE ID marks that CVE Fixed; a CVE
// with PatchAvailable and no fix is "Unfixed, Patch Available"; the
// manifest's whitelist (CVE IDs or package names) leaves findings out and
// counts them as whitelisted.
//
// State is in memory, guarded by one mutex; timestamps come from the
// simulator's clock.
//
// Decisions where the vendor documents nothing (kept here so they are easy
// to revisit):
//   - Error bodies are {"success": false, "message": "..."}; the real shape
//     is unverified. Status codes follow meta-timesys's list: 400 empty or
//     insufficient request, 403 invalid credentials, 404 unknown resource
//     or URL, 405 wrong method, 412 malformed manifest.
//   - Booleans must be True or False (what the clients send); anything else
//     is a 400.
//   - Tokens are 32 hex characters; the Private Workspace, the default
//     product and its folder have fixed tokens. An upload with no product
//     goes to the Private Workspace, ignoring folder_token and
//     subfolder_name, as the toolkit describes. group_token is accepted for
//     product_token (enterprise servers).
//   - A manifest must be a JSON object whose "packages" (an object keyed by
//     name or a list; SPDX's versionInfo is read) or "components"
//     (CycloneDX) name at least one package, each with a version;
//     otherwise the upload is a 412.
//   - Report dates are RFC 3339 in UTC; report_path is
//     /vigiles/reports/<report token>, product_path /vigiles/products/<token>.
//   - counts holds unfixed, unapplied, fixed, upgradable and whitelisted,
//     the same per kernel and toolchain, and cvss_counts with critical,
//     high, medium and low, each {unfixed, fixed} (unapplied counted as
//     unfixed), as meta-timesys's checkcves.py reads them.
//   - filter_results / filtered change nothing: no dashboard filters exist
//     in the simulator.
//   - Reports download as csv, pdf, pdfsummary and xlsx (render.go): real
//     files of each kind with its content type; Vigiles' layout is unverified.
//   - with_field extras (assigner, description, impact, modified,
//     problem_types, published, references) are added to each CVE of a
//     report in NVD's shapes (cvedb.go); Vigiles' own shapes are unverified.
//   - Upload and rescan answer with exported_manifest, the manifest as an
//     SPDX JSON object (sent as an object; whether Vigiles sends an object
//     or a string is unverified). GET manifests/{token} converts to
//     sbom_format spdx, spdx-lite (tag-value) or cyclonedx (sbom.go).
//   - The heartbeat POST and searches count as reads for Recorder().Writes().
package sim
