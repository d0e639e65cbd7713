package localfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"haven/internal/keys/kms/localfile"
)

func TestRootKeyPersistsWithPrivateMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	c := localfile.Client{}
	a1, err := c.GetAEAD(localfile.URI(path))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode = %o, want 600", fi.Mode().Perm())
	}
	ct, err := a1.Encrypt([]byte("wrapped key"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.GetAEAD(localfile.URI(path))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := a2.Decrypt(ct, []byte("ad"))
	if err != nil || !bytes.Equal(pt, []byte("wrapped key")) {
		t.Fatalf("reloaded root key does not open its ciphertext: %v", err)
	}
}

func TestWorldReadableRootKeyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	c := localfile.Client{}
	if _, err := c.GetAEAD(localfile.URI(path)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAEAD(localfile.URI(path)); err == nil {
		t.Fatal("a world-readable root key was accepted")
	}
}

func TestSupported(t *testing.T) {
	c := localfile.Client{}
	for uri, want := range map[string]bool{
		"haven-local:///data/root.key":        true,
		"hcvault://transit/keys/haven":        false,
		"gcp-kms://projects/p/keyRings/r/k/x": false,
	} {
		if got := c.Supported(uri); got != want {
			t.Errorf("Supported(%q) = %v, want %v", uri, got, want)
		}
	}
}
