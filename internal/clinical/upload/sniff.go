// Package upload checks a document before the record keeps it: what it is, judged from its
// bytes and never from the name or the type the sender declared, and, for an image, a copy
// with the metadata a camera or phone writes into it (place, device, time, comments) taken
// out without touching a pixel.
//
// It keeps four kinds: PDF, PNG, JPEG and WebP. HEIC/HEIF photos (an iPhone's default) are
// refused with advice, as nothing here decodes them. It refuses to guess: a body whose sniffed
// type is not on the list, or disagrees with the type declared, is refused. It does not
// strip a PDF's document information: a PDF is kept as sent and is only ever downloaded.
package upload

import (
	"bytes"
	"mime"
	"net/http"
	"strings"

	"haven/internal/fault"
)

// The types Haven keeps.
const (
	PDF  = "application/pdf"
	PNG  = "image/png"
	JPEG = "image/jpeg"
	WebP = "image/webp"
)

// Accept is the allow-list as an HTML accept attribute.
const Accept = "application/pdf,image/png,image/jpeg,image/webp,.pdf,.png,.jpg,.jpeg,.webp"

// Errors. Their text is safe to show to the person who sent the file.
var (
	// ErrEmpty is an empty body.
	ErrEmpty = fault.New(fault.Invalid, "the file is empty: choose the file again")
	// ErrHEIC is a HEIC/HEIF photo.
	ErrHEIC = fault.New(fault.Invalid, "Haven cannot show HEIC photos: on an iPhone choose Most Compatible in Settings > Camera > Formats, or send a screenshot")
	// ErrNotAllowed is any other kind of file.
	ErrNotAllowed = fault.New(fault.Invalid, "Haven keeps PDF documents and PNG, JPEG or WebP images only: save the file as one of those and send it again")
	// ErrMismatch is a file whose bytes are not of the type it was sent as.
	ErrMismatch = fault.New(fault.Invalid, "the file is not of the type it says it is: send the original file again")
	// ErrCorrupt is an image that does not decode.
	ErrCorrupt = fault.New(fault.Invalid, "the image is damaged and cannot be shown: send it again or take a screenshot of it")
)

// heifBrands are the ISO-BMFF major or compatible brands of HEIC/HEIF (and AVIF) files.
var heifBrands = []string{"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "avif", "avis"}

// Sniff names the type of b from its bytes: one of PDF, PNG, JPEG or WebP, or an error that
// says what to do instead.
func Sniff(b []byte) (string, error) {
	if len(b) == 0 {
		return "", ErrEmpty
	}
	if isHEIF(b) {
		return "", ErrHEIC
	}
	if isWebP(b) {
		return WebP, nil
	}
	t, _, err := mime.ParseMediaType(http.DetectContentType(b))
	if err != nil {
		return "", ErrNotAllowed
	}
	switch t {
	case PDF, PNG, JPEG:
		return t, nil
	}
	return "", ErrNotAllowed
}

// Check sniffs b and compares it with declared, the type the sender gave (a Content-Type
// value; parameters are ignored, and "image/jpg" is taken for JPEG). An empty or generic
// declaration (application/octet-stream) leaves the sniffed type to stand.
func Check(b []byte, declared string) (string, error) {
	t, err := Sniff(b)
	if err != nil {
		return "", err
	}
	d, _, perr := mime.ParseMediaType(declared)
	if declared == "" || (perr == nil && d == "application/octet-stream") {
		return t, nil
	}
	if perr != nil {
		return "", ErrMismatch
	}
	if d == "image/jpg" || d == "image/pjpeg" {
		d = JPEG
	}
	if d != t {
		return "", ErrMismatch
	}
	return t, nil
}

// isWebP reports a RIFF container of form WEBP.
func isWebP(b []byte) bool {
	return len(b) >= 16 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP"
}

// isHEIF reports an ISO-BMFF file whose ftyp box names a HEIF brand, major or compatible.
func isHEIF(b []byte) bool {
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		return false
	}
	size := int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	if size < 12 || size > len(b) {
		size = len(b)
	}
	if heifBrand(b[8:12]) {
		return true
	}
	for i := 16; i+4 <= size; i += 4 { // after major brand and minor version
		if heifBrand(b[i : i+4]) {
			return true
		}
	}
	return false
}

func heifBrand(b []byte) bool {
	for _, brand := range heifBrands {
		if bytes.Equal(b, []byte(brand)) {
			return true
		}
	}
	return false
}

// IsImage reports whether t is one of the image types.
func IsImage(t string) bool { return strings.HasPrefix(t, "image/") }
