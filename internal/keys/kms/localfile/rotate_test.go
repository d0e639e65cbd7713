package localfile_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"haven/internal/keys/kms/localfile"
)

// TestKeyFileVersions: adding a version keeps the file private and atomic (no temporary file
// left), keeps old ciphertexts opening, and an AEAD loaded before the change follows the file:
// it opens the new version's ciphertexts and seals under it. The primary version cannot be
// removed; a removed version opens nothing any more.
func TestKeyFileVersions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	c := localfile.Client{}
	running, err := c.GetAEAD(localfile.URI(path))
	if err != nil {
		t.Fatal(err)
	}
	old, err := running.Encrypt([]byte("wrapped key"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := localfile.Versions(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := localfile.AddPrimary(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file after rotation: %v, %v; want mode 600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the key directory holds %d files; want only root.key", len(entries))
	}
	if ids, primary, err := localfile.Versions(path); err != nil || len(ids) != 2 || primary != second {
		t.Fatalf("Versions = %v, %d, %v", ids, primary, err)
	}
	fresh, err := c.GetAEAD(localfile.URI(path))
	if err != nil {
		t.Fatal(err)
	}
	neu, err := fresh.Encrypt([]byte("wrapped key"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint32(neu[1:5]) != second {
		t.Fatalf("a new ciphertext is under version %d; want %d", binary.BigEndian.Uint32(neu[1:5]), second)
	}
	for name, ct := range map[string][]byte{"old": old, "new": neu} {
		if pt, err := running.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "wrapped key" {
			t.Fatalf("the AEAD loaded before the rotation opens the %s ciphertext: %q, %v", name, pt, err)
		}
	}
	if ct, err := running.Encrypt([]byte("x"), []byte("ad")); err != nil || binary.BigEndian.Uint32(ct[1:5]) != second {
		t.Fatalf("the AEAD loaded before the rotation seals under the old version (%v)", err)
	}
	if err := localfile.Remove(path, second); err == nil {
		t.Fatal("removing the primary version was allowed")
	}
	if err := localfile.Remove(path, first); err != nil {
		t.Fatal(err)
	}
	if _, err := running.Decrypt(old, []byte("ad")); err == nil {
		t.Fatal("a ciphertext under the removed version still opens")
	}
	if pt, err := running.Decrypt(neu, []byte("ad")); err != nil || string(pt) != "wrapped key" {
		t.Fatalf("after the old version is removed: %q, %v", pt, err)
	}
}
