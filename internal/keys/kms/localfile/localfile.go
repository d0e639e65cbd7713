// Package localfile is the embedded default root-key provider: a Tink AES-256-GCM keyset kept in
// a file of the data directory, mode 0600, created on first start.
//
// It implements Tink's registry.KMSClient, the same interface Tink's Vault transit and cloud KMS
// integrations implement, so production swaps the client and keeps everything above it. It
// refuses to read a key file that others can read: a root key that leaked to the file system is
// not quietly used.
package localfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// URIPrefix starts every key URI this client serves: "haven-local://" followed by the key
// file's path.
const URIPrefix = "haven-local://"

// Client serves root keys from local key files.
type Client struct{}

var _ registry.KMSClient = Client{}

// URI names the key file at path.
func URI(path string) string { return URIPrefix + path }

// Supported reports whether keyURI names a local key file.
func (Client) Supported(keyURI string) bool { return strings.HasPrefix(keyURI, URIPrefix) }

// GetAEAD loads the key file named by keyURI, creating it (mode 0600) if it does not exist. The
// AEAD follows the file: it reloads it when a rotation replaces it (see reloading).
func (Client) GetAEAD(keyURI string) (tink.AEAD, error) {
	path, ok := strings.CutPrefix(keyURI, URIPrefix)
	if !ok || path == "" {
		return nil, fmt.Errorf("localfile: unsupported key URI")
	}
	r, err := newReloading(path)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func loadOrCreate(path string) (*keyset.Handle, error) {
	h, _, err := load(path)
	return h, err
}

// load reads the key file, creating it if missing, and returns the file's identity as read: the
// stat and the content come from the same open file, so a rotation that replaces the file in
// between cannot pair one version's content with the other's identity.
func load(path string) (*keyset.Handle, os.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := create(path); err != nil {
			return nil, nil, err
		}
		return load(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("localfile: read root key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("localfile: stat root key: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("localfile: read root key: %w", err)
	}
	h, err := parse(path, raw, fi)
	return h, fi, err
}

func parse(path string, raw []byte, fi os.FileInfo) (*keyset.Handle, error) {
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("localfile: root key file %s is readable by others (mode %o); chmod 600 it", filepath.Base(path), fi.Mode().Perm())
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewBinaryReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("localfile: parse root key: %w", err)
	}
	return h, nil
}

func create(path string) (*keyset.Handle, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("localfile: generate root key: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&buf)); err != nil {
		return nil, fmt.Errorf("localfile: encode root key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("localfile: create key directory: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write a different root key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreate(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("localfile: create root key file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("localfile: write root key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("localfile: sync root key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("localfile: close root key: %w", err)
	}
	return h, nil
}
