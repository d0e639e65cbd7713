package localfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// reloading is the root key AEAD a running Haven holds. The key file can change under it: `haven
// keys rotate` adds a version and makes it primary, and later removes the old one. Before every
// Encrypt, and after a Decrypt that fails, it checks whether the file was replaced (a rotation
// renames a new file into place) and reloads it, so a server that started before a rotation
// wraps new keys under the new version from the moment the file is written and opens keys
// rewrapped under a version it had never seen.
type reloading struct {
	path string

	mu   sync.Mutex
	fi   os.FileInfo
	aead tink.AEAD
}

var _ tink.AEAD = (*reloading)(nil)

func newReloading(path string) (*reloading, error) {
	r := &reloading{path: path}
	if _, err := r.current(true); err != nil {
		return nil, err
	}
	return r, nil
}

// current returns the primitive for the key file as it is now, reloading it if it was replaced
// since it was read (or always, if force).
func (r *reloading) current(force bool) (tink.AEAD, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.aead != nil && !force {
		fi, err := os.Stat(r.path)
		if err != nil {
			return r.aead, nil // the file is being replaced; keep the key in hand
		}
		if os.SameFile(fi, r.fi) && fi.ModTime().Equal(r.fi.ModTime()) && fi.Size() == r.fi.Size() {
			return r.aead, nil
		}
	}
	h, fi, err := load(r.path)
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("localfile: root key primitive: %w", err)
	}
	r.fi, r.aead = fi, a
	return a, nil
}

func (r *reloading) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	a, err := r.current(false)
	if err != nil {
		return nil, err
	}
	return a.Encrypt(plaintext, associatedData)
}

func (r *reloading) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	a, err := r.current(false)
	if err != nil {
		return nil, err
	}
	pt, err := a.Decrypt(ciphertext, associatedData)
	if err == nil {
		return pt, nil
	}
	// Perhaps sealed under a version added since the file was read: look again.
	fresh, ferr := r.current(false)
	if ferr != nil || fresh == a {
		return nil, err
	}
	return fresh.Decrypt(ciphertext, associatedData)
}

// Versions lists the key ids (root key versions) in the key file and the primary one.
func Versions(path string) (ids []uint32, primary uint32, err error) {
	h, err := loadOrCreate(path)
	if err != nil {
		return nil, 0, err
	}
	info := h.KeysetInfo()
	for _, k := range info.GetKeyInfo() {
		ids = append(ids, k.GetKeyId())
	}
	return ids, info.GetPrimaryKeyId(), nil
}

// AddPrimary adds a new AES-256-GCM key to the key file and makes it primary, keeping the
// others so that everything wrapped under them still opens; it returns the new key's id.
func AddPrimary(path string) (uint32, error) {
	h, err := loadOrCreate(path)
	if err != nil {
		return 0, err
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("localfile: add root key version: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("localfile: make root key version primary: %w", err)
	}
	if err := writeHandle(path, m); err != nil {
		return 0, err
	}
	return id, nil
}

// Remove deletes the root key version id from the key file. It refuses the primary one. Run it
// only when nothing is wrapped under that version any more: it is gone for good.
func Remove(path string, id uint32) error {
	h, err := loadOrCreate(path)
	if err != nil {
		return err
	}
	if h.KeysetInfo().GetPrimaryKeyId() == id {
		return fmt.Errorf("localfile: root key version %d is the primary one", id)
	}
	m := keyset.NewManagerFromHandle(h)
	if err := m.Delete(id); err != nil {
		return fmt.Errorf("localfile: remove root key version %d: %w", id, err)
	}
	return writeHandle(path, m)
}

// writeHandle replaces the key file atomically: a temporary file in the same directory (0600),
// synced, renamed over the old one, and the directory synced. A crash leaves the old file or
// the new one, never a torn one.
func writeHandle(path string, m *keyset.Manager) error {
	h, err := m.Handle()
	if err != nil {
		return fmt.Errorf("localfile: root key handle: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&buf)); err != nil {
		return fmt.Errorf("localfile: encode root key: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".root.key-*")
	if err != nil {
		return fmt.Errorf("localfile: create temporary root key: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(fmt.Errorf("localfile: chmod temporary root key: %w", err))
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fail(fmt.Errorf("localfile: write root key: %w", err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("localfile: sync root key: %w", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("localfile: close root key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("localfile: replace root key: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("localfile: open key directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("localfile: sync key directory: %w", err)
	}
	return nil
}
