package clinical

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed export.html.tmpl
var exportTemplate string

// HTML renders the export as one self-contained, printable document: no script, no external
// asset, the sections in words, times in loc (the reader's zone; nil is UTC).
func (e Export) HTML(loc *time.Location) ([]byte, error) {
	if loc == nil {
		loc = time.UTC
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2 January 2006, 15:04 MST")
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2 January 2006")
	}
	t, err := template.New("export").Funcs(template.FuncMap{
		"when": when,
		"day":  day,
		"whenp": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return when(*t)
		},
		"reading": readingWords,
		"status":  statusWords,
		"size":    sizeWords,
	}).Parse(exportTemplate)
	if err != nil {
		return nil, fmt.Errorf("clinical: export template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, e); err != nil {
		return nil, fmt.Errorf("clinical: render export: %w", err)
	}
	return b.Bytes(), nil
}

// readingWords is an observation's value in words: "120/80 mm Hg", "72 beats per minute".
func readingWords(it Item) string {
	if len(it.Components) > 0 {
		parts := make([]string, len(it.Components))
		for i, c := range it.Components {
			parts[i] = num(c.Value)
		}
		return strings.Join(parts, "/") + " " + UnitWords(it.Components[0].Unit)
	}
	if it.Value == nil {
		return ""
	}
	return num(*it.Value) + " " + UnitWords(it.Unit)
}

// statusWords says a status as a person would.
func statusWords(s string) string {
	switch s {
	case StatusEnteredInError:
		return "entered in error"
	}
	return s
}

// sizeWords is a file size people read.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
