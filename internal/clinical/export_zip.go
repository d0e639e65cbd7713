package clinical

import (
	"archive/zip"
	"bytes"
	"fmt"
	"path"
	"strings"
	"time"
)

// Zip packs the export as one archive: the readable document (health-record.html), the
// export as FHIR R4 JSON (health-record.json: bundle, which the FHIR transport renders, so
// that the record is mapped to FHIR in one place) and, when the export holds them (Files),
// every document under documents/, numbered in the record's order so that two files of the
// same name stay apart.
func (e Export) Zip(loc *time.Location, bundle []byte) ([]byte, error) {
	html, err := e.HTML(loc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, content []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: e.ExportedAt})
		if err != nil {
			return fmt.Errorf("clinical: export archive: %w", err)
		}
		if _, err := w.Write(content); err != nil {
			return fmt.Errorf("clinical: export archive: %w", err)
		}
		return nil
	}
	if err := add("health-record.html", html); err != nil {
		return nil, err
	}
	if err := add("health-record.json", bundle); err != nil {
		return nil, err
	}
	for i, content := range e.Files {
		if i >= len(e.Documents) {
			break
		}
		if err := add(fmt.Sprintf("documents/%02d-%s", i+1, archiveName(e.Documents[i].FileName)), content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("clinical: export archive: %w", err)
	}
	return b.Bytes(), nil
}

// archiveName keeps a file name inside its folder of the archive: no path, no dot-dot.
func archiveName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == ".." || name == "/" || name == "" {
		return "document"
	}
	return name
}
