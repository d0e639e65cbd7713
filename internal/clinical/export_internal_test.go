package clinical

import "testing"

// TestArchiveNameStaysInItsFolder: a document's file name cannot climb out of the archive's
// documents folder (zip slip on the patient's machine).
func TestArchiveNameStaysInItsFolder(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"scan.pdf", "scan.pdf"},
		{"../../etc/passwd", "passwd"},
		{`..\..\win.ini`, "win.ini"},
		{"/abs/path.png", "path.png"},
		{"..", "document"},
		{"", "document"},
	} {
		if got := archiveName(tc.in); got != tc.want {
			t.Errorf("archiveName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
