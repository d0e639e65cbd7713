package compliance

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

// Page is a report as a page shows it, times in the reader's zone.
type Page struct {
	Report
	When string
}

// StatusWords says an outcome in words.
func StatusWords(s Status) string {
	switch s {
	case Pass:
		return "Passed"
	case Warn:
		return "To review"
	}
	return "Failed"
}

// Template parses the report's template; "body" is the part a page embeds.
func Template() (*template.Template, error) {
	t, err := template.New("report").Funcs(template.FuncMap{"words": StatusWords}).Parse(reportTemplate)
	if err != nil {
		return nil, fmt.Errorf("compliance: template: %w", err)
	}
	return t, nil
}

// PageOf is r with its time in loc (nil is UTC).
func PageOf(r Report, loc *time.Location) Page {
	if loc == nil {
		loc = time.UTC
	}
	return Page{Report: r, When: r.GeneratedAt.In(loc).Format("2 January 2006 at 15:04 MST")}
}

// HTML renders r as one self-contained, printable document without scripts.
func (r Report) HTML(loc *time.Location) ([]byte, error) {
	t, err := Template()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, PageOf(r, loc)); err != nil {
		return nil, fmt.Errorf("compliance: render: %w", err)
	}
	return b.Bytes(), nil
}

// Summary is the report in one line.
func (r Report) Summary() string {
	return fmt.Sprintf("compliance: %d checks, %d passed, %d to review, %d failed", len(r.Checks), r.Passed, r.Warned, r.Failed)
}
