package upload

import (
	"bytes"
	"encoding/binary"
	"image"
	_ "image/jpeg" // DecodeConfig of a stripped JPEG
	_ "image/png"  // DecodeConfig of a stripped PNG

	_ "golang.org/x/image/webp" // DecodeConfig of a stripped WebP
)

// Clean returns b ready to keep: for an image of type t, a copy without its metadata that
// still decodes; a PDF as it is. Nothing is re-encoded: the pixels are the sender's.
func Clean(t string, b []byte) ([]byte, error) {
	var out []byte
	var err error
	switch t {
	case PDF:
		return b, nil
	case JPEG:
		out, err = StripJPEG(b)
	case PNG:
		out, err = StripPNG(b)
	case WebP:
		out, err = StripWebP(b)
	default:
		return nil, ErrNotAllowed
	}
	if err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
	if err != nil || "image/"+format != t || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrCorrupt
	}
	return out, nil
}

// StripJPEG removes every APPn segment but JFIF (APP0), an ICC colour profile (APP2) and
// Adobe's colour transform (APP14) — so EXIF and XMP (APP1), Photoshop's IPTC (APP13) and
// the rest — and every comment (COM). The scan data is copied as it is.
func StripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, ErrCorrupt
	}
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for {
		if i >= len(b) || b[i] != 0xFF {
			return nil, ErrCorrupt
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			return nil, ErrCorrupt
		}
		m := b[i]
		i++
		switch {
		case m == 0xD9: // EOI before any scan
			return append(out, 0xFF, 0xD9), nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			out = append(out, 0xFF, m)
			continue
		}
		if i+2 > len(b) {
			return nil, ErrCorrupt
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return nil, ErrCorrupt
		}
		seg := b[i : i+n]
		if m == 0xDA { // start of scan: the rest is image data
			out = append(out, 0xFF, m)
			return append(out, b[i:]...), nil
		}
		if keepJPEGSegment(m, seg[2:]) {
			out = append(out, 0xFF, m)
			out = append(out, seg...)
		}
		i += n
	}
}

func keepJPEGSegment(m byte, payload []byte) bool {
	switch {
	case m == 0xFE: // COM
		return false
	case m == 0xE0, m == 0xEE: // JFIF, Adobe
		return true
	case m == 0xE2:
		return bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00"))
	case m >= 0xE0 && m <= 0xEF:
		return false
	}
	return true
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngDropped are the chunks that carry text, EXIF or a modification time.
var pngDropped = map[string]bool{"tEXt": true, "iTXt": true, "zTXt": true, "eXIf": true, "tIME": true}

// StripPNG removes the tEXt, iTXt, zTXt, eXIf and tIME chunks, and anything after IEND.
func StripPNG(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, pngSignature) {
		return nil, ErrCorrupt
	}
	out := make([]byte, 0, len(b))
	out = append(out, pngSignature...)
	i := len(pngSignature)
	for {
		if i+8 > len(b) {
			return nil, ErrCorrupt
		}
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		end := i + 12 + n
		if n < 0 || n > len(b) || end > len(b) {
			return nil, ErrCorrupt
		}
		if !pngDropped[typ] {
			out = append(out, b[i:end]...)
		}
		i = end
		if typ == "IEND" {
			return out, nil
		}
	}
}

// VP8X flags for the metadata chunks.
const (
	vp8xEXIF = 0x08
	vp8xXMP  = 0x04
)

// StripWebP removes the EXIF and XMP chunks, clears their flags in VP8X, and drops anything
// past the RIFF container.
func StripWebP(b []byte) ([]byte, error) {
	if !isWebP(b) {
		return nil, ErrCorrupt
	}
	size := int(binary.LittleEndian.Uint32(b[4:]))
	if size < 4 || size > len(b)-8 {
		return nil, ErrCorrupt
	}
	b = b[:8+size]
	out := make([]byte, 0, len(b))
	out = append(out, b[:12]...)
	vp8x := -1
	for i := 12; i < len(b); {
		if i+8 > len(b) {
			return nil, ErrCorrupt
		}
		fourcc := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n&1
		if n < 0 || n > len(b) || end > len(b) {
			return nil, ErrCorrupt
		}
		switch fourcc {
		case "EXIF", "XMP ":
		case "VP8X":
			if n < 10 {
				return nil, ErrCorrupt
			}
			vp8x = len(out)
			out = append(out, b[i:end]...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	if vp8x >= 0 {
		out[vp8x+8] &^= vp8xEXIF | vp8xXMP
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
