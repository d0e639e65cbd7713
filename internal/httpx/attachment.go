package httpx

import (
	"net/http"
	"strconv"
	"strings"
)

// ServeAttachment writes a stored document as a download: its stored, allow-listed type,
// nosniff, and Content-Disposition attachment (a PDF too), so that no browser renders it
// inline in Haven's origin; the file name only in the RFC 5987 form, every byte outside the
// attribute characters percent-encoded.
func ServeAttachment(w http.ResponseWriter, contentType, fileName string, content []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+rfc5987(fileName))
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	w.Write(content)
}

// rfc5987 percent-encodes s as an RFC 5987 ext-value's value.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$&+-.^_`|~", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
