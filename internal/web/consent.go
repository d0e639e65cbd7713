package web

import "strings"

// The telehealth consent is kept as the exact words the patient accepts (its SHA-256 is what the
// acceptance records), written in a small subset of Markdown: "# " a title, "## " a section, a
// blank line between paragraphs, "- " a list item. The page shows those words, laid out; it
// never changes them.

// consentBlock is one block of the consent as the page lays it out.
type consentBlock struct {
	Kind  string // "title", "section", "p" or "list"
	Text  string
	Items []string // a list's items
}

// consentBlocks lays out a consent text. The first block is always its title (the text's own, or
// "Telehealth consent").
func consentBlocks(text string) []consentBlock {
	var out []consentBlock
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		var lines []string
		for _, l := range strings.Split(para, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		switch first := lines[0]; {
		case strings.HasPrefix(first, "## "):
			out = append(out, consentBlock{Kind: "section", Text: strings.TrimPrefix(first, "## ")})
			lines = lines[1:]
		case strings.HasPrefix(first, "# "):
			out = append(out, consentBlock{Kind: "title", Text: strings.TrimPrefix(first, "# ")})
			lines = lines[1:]
		}
		var prose []string
		flush := func() {
			if len(prose) > 0 {
				out = append(out, consentBlock{Kind: "p", Text: strings.Join(prose, " ")})
				prose = nil
			}
		}
		for _, l := range lines {
			if item, ok := strings.CutPrefix(l, "- "); ok {
				flush()
				if n := len(out); n > 0 && out[n-1].Kind == "list" {
					out[n-1].Items = append(out[n-1].Items, item)
				} else {
					out = append(out, consentBlock{Kind: "list", Items: []string{item}})
				}
				continue
			}
			prose = append(prose, l)
		}
		flush()
	}
	if len(out) == 0 || out[0].Kind != "title" {
		out = append([]consentBlock{{Kind: "title", Text: "Telehealth consent"}}, out...)
	}
	return out
}
