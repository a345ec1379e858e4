package sim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// The report download formats the toolkit lists (download_report: "csv",
// "pdf", "pdfsummary", "xlsx"). Each is a real file of its kind: a CSV, a
// one-page PDF 1.4 and an Office Open XML workbook, with the content type
// of that kind. Vigiles' own layout (columns, titles, pages) is unverified;
// what a client can rely on is the format, which is what these give.
type reportFormat struct {
	contentType string
	ext         string
	render      func(m *Manifest, rep *Report) []byte
}

var reportFormats = map[string]reportFormat{
	"csv":        {"text/csv", "csv", renderCSV},
	"pdf":        {"application/pdf", "pdf", func(m *Manifest, rep *Report) []byte { return renderPDF(m, rep, false) }},
	"pdfsummary": {"application/pdf", "pdf", func(m *Manifest, rep *Report) []byte { return renderPDF(m, rep, true) }},
	"xlsx":       {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", renderXLSX},
}

var reportColumns = []string{"package", "version", "cve_id", "cvss", "status"}

func reportRows(rep *Report) [][]string {
	rows := [][]string{}
	for _, f := range rep.Findings {
		rows = append(rows, []string{f.Package, f.Version, f.CVE.ID, fmt.Sprint(f.CVE.CVSS), f.Status})
	}
	return rows
}

func renderCSV(_ *Manifest, rep *Report) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(reportColumns)
	cw.WriteAll(reportRows(rep))
	return b.Bytes()
}

// pdfText escapes a line for a PDF string literal (ASCII only: the base-14
// fonts have no Unicode mapping).
func pdfText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// renderPDF writes a one-page PDF: a title, the counts, and (unless summary)
// one line per finding, as many as fit on the page.
func renderPDF(m *Manifest, rep *Report, summary bool) []byte {
	open := map[string]int{}
	for _, f := range rep.Findings {
		if f.Open() {
			open[severity(f.CVE.CVSS)]++
		}
	}
	lines := []string{
		"Vigiles CVE Report" + map[bool]string{true: " (summary)", false: ""}[summary],
		"Manifest: " + m.Name + "  Report: " + rep.Token,
		"Date: " + rep.Created.UTC().Format(time.RFC3339),
		fmt.Sprintf("Open CVEs: critical %d, high %d, medium %d, low %d", open["critical"], open["high"], open["medium"], open["low"]),
	}
	if !summary {
		lines = append(lines, "")
		for _, row := range reportRows(rep) {
			lines = append(lines, strings.Join(row, "  "))
			if len(lines) >= 60 {
				break
			}
		}
	}
	var content strings.Builder
	content.WriteString("BT /F1 10 Tf 50 800 Td 12 TL\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) '\n", pdfText(l))
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// renderXLSX writes a workbook with one sheet of findings, in inline strings
// (no shared-strings part needed).
func renderXLSX(_ *Manifest, rep *Report) []byte {
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	var sheet strings.Builder
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	sheet.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, row := range append([][]string{reportColumns}, reportRows(rep)...) {
		fmt.Fprintf(&sheet, `<row r="%d">`, i+1)
		for j, cell := range row {
			ref := fmt.Sprintf("%c%d", 'A'+j, i+1)
			if i > 0 && j == 3 {
				fmt.Fprintf(&sheet, `<c r="%s"><v>%s</v></c>`, ref, esc(cell))
				continue
			}
			fmt.Fprintf(&sheet, `<c r="%s" t="inlineStr"><is><t>%s</t></is></c>`, ref, esc(cell))
		}
		sheet.WriteString(`</row>`)
	}
	sheet.WriteString(`</sheetData></worksheet>`)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="CVEs" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", sheet.String()},
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, p := range parts {
		// A fixed modification time keeps the bytes deterministic.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: rep.Created.UTC()})
		if err != nil { // writing to memory does not fail
			continue
		}
		fw.Write([]byte(p.body))
	}
	zw.Close()
	return b.Bytes()
}
