package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressLinesWhenNotATerminal: away from a terminal, progress is a line every tenth of the
// way (the start included), never a carriage-return bar.
func TestProgressLinesWhenNotATerminal(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "backing up")
	for i := int64(1); i <= 1000; i++ {
		p.update(i, 1000)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 11 || strings.Contains(out.String(), "\r") {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	if lines[len(lines)-1] != "backing up: 100% (1000 of 1000 rows)" {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
}

func TestSizeOf(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{512, "512 bytes"}, {2048, "2.0 KiB"}, {3 << 20, "3.0 MiB"}, {5 << 30, "5.0 GiB"}} {
		if got := sizeOf(c.n); got != c.want {
			t.Errorf("sizeOf(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
