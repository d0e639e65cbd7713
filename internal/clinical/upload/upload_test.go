package upload

import (
	"bytes"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		file, declared, want string
		err                  error
	}{
		{"gps.jpg", "image/jpeg", JPEG, nil},
		{"gps.jpg", "image/jpg", JPEG, nil},
		{"gps.jpg", "", JPEG, nil},
		{"gps.jpg", "application/octet-stream", JPEG, nil},
		{"text.png", "image/png", PNG, nil},
		{"exif.webp", "image/webp", WebP, nil},
		{"letter.pdf", "application/pdf", PDF, nil},
		{"letter.pdf", "image/png", "", ErrMismatch},
		{"gps.jpg", "text/html", "", ErrMismatch},
		{"photo.heic", "image/heic", "", ErrHEIC},
		{"photo.heic", "image/jpeg", "", ErrHEIC},
	} {
		got, err := Check(fixture(t, tc.file), tc.declared)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Check(%s, %q) = %q, %v; want %q, %v", tc.file, tc.declared, got, err, tc.want, tc.err)
		}
	}
	for _, body := range [][]byte{[]byte("<html><script>alert(1)</script>"), []byte("GIF89a\x01\x00"), []byte("hello")} {
		if _, err := Sniff(body); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Sniff(%q) = %v, want ErrNotAllowed", body, err)
		}
	}
	if _, err := Sniff(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Sniff(nil) = %v, want ErrEmpty", err)
	}
}

// TestCleanRemovesMetadata: the location a phone writes into a photo is gone from each kind
// of image, and the image still decodes to the same size.
func TestCleanRemovesMetadata(t *testing.T) {
	for _, tc := range []struct{ file, typ string }{
		{"gps.jpg", JPEG}, {"text.png", PNG}, {"exif.webp", WebP},
	} {
		in := fixture(t, tc.file)
		if !bytes.Contains(in, []byte("GPSLatitude")) {
			t.Fatalf("%s: fixture has no GPS text", tc.file)
		}
		out, err := Clean(tc.typ, in)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		for _, gone := range []string{"GPSLatitude", "Exif", "taken at home", "xmpmeta"} {
			if bytes.Contains(out, []byte(gone)) {
				t.Errorf("%s: %q still in the cleaned image", tc.file, gone)
			}
		}
		before, _, err := image.DecodeConfig(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		after, _, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || after != before {
			t.Errorf("%s: cleaned image config %+v, %v; want %+v", tc.file, after, err, before)
		}
		if _, _, err := image.Decode(bytes.NewReader(out)); err != nil {
			t.Errorf("%s: cleaned image does not decode: %v", tc.file, err)
		}
		if tc.typ == WebP && out[20]&(vp8xEXIF|vp8xXMP) != 0 {
			t.Errorf("%s: VP8X still flags metadata: %08b", tc.file, out[20])
		}
	}
}

func TestCleanRefusesDamagedImage(t *testing.T) {
	in := fixture(t, "gps.jpg")
	if _, err := Clean(JPEG, in[:40]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Clean(truncated JPEG) = %v, want ErrCorrupt", err)
	}
	png := fixture(t, "text.png")
	if _, err := Clean(PNG, png[:20]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Clean(truncated PNG) = %v, want ErrCorrupt", err)
	}
}

func seeds(f *testing.F) {
	for _, name := range []string{"gps.jpg", "text.png", "exif.webp", "gopher.webp", "letter.pdf", "photo.heic"} {
		f.Add(fixture(f, name))
	}
}

func FuzzSniff(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, err := Sniff(b)
		if err == nil && typ != PDF && typ != PNG && typ != JPEG && typ != WebP {
			t.Fatalf("Sniff allowed %q", typ)
		}
	})
}

// fuzzStrip checks a stripper never panics, and that what it returns is no longer than its
// input, is stable (stripping again changes nothing) and keeps none of the dropped parts.
func fuzzStrip(f *testing.F, strip func([]byte) ([]byte, error)) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := strip(b)
		if err != nil {
			return
		}
		if len(out) > len(b) {
			t.Fatalf("stripped %d bytes into %d", len(b), len(out))
		}
		again, err := strip(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("stripping again: %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

func FuzzStripJPEG(f *testing.F) { fuzzStrip(f, StripJPEG) }
func FuzzStripPNG(f *testing.F)  { fuzzStrip(f, StripPNG) }
func FuzzStripWebP(f *testing.F) { fuzzStrip(f, StripWebP) }
