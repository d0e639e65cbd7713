// Package backup writes and restores Haven's encrypted archives: one file holding every table of
// the database (audit log and checkpoints included) as a dialect-neutral stream, taken from a
// consistent snapshot while Haven serves, and restorable into SQLite or PostgreSQL whatever the
// source was.
//
// An archive is: a magic line, a header (format, creation time, and a fresh Tink streaming-AEAD
// keyset wrapped by the installation's root key), then the stream encrypted with that keyset
// (AES256_GCM_HKDF_1MB) with the magic and header as associated data. The archive alone reveals
// nothing; a flipped byte anywhere or a truncation fails authentication. Inside, the stream is a
// sequence of frames: a table (name, columns), batches of rows, and last a manifest (tables, row
// counts, schema version, source dialect, creation time) carrying the SHA-256 of every frame
// before it.
package backup

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// magic opens every archive; the last byte is the format version.
const magic = "HAVEN-BACKUP\n\x01"

// maxHeader and maxFrame bound what a reader allocates for an archive it has not yet verified.
const (
	maxHeader = 64 << 10
	maxFrame  = 64 << 20
)

// keysetAD binds the wrapped archive keyset to its purpose.
var keysetAD = []byte("haven backup keyset v1")

// ErrCorrupt is returned for an archive that does not verify: wrong root key, a changed byte, a
// truncation, or a stream that does not parse.
var ErrCorrupt = errors.New("backup: the archive does not verify (damaged, truncated, or made with another root key)")

// header is the archive's clear part: nothing in it is secret.
type header struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	Keyset  []byte    `json:"keyset"` // the stream keyset, wrapped by the root key
}

// Manifest describes an archive's content; it is the stream's last frame.
type Manifest struct {
	Created       time.Time
	Dialect       string // the source database's dialect
	SchemaVersion int
	Tables        []TableCount
	SHA256        []byte // of every frame before the manifest
}

// TableCount is one table and how many rows the archive holds for it.
type TableCount struct {
	Name string
	Rows int64
}

// Rows is the total number of rows in the archive.
func (m Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Frame kinds.
const (
	frameTable    byte = 'T'
	frameRows     byte = 'R'
	frameManifest byte = 'M'
)

// tableFrame starts a table's rows.
type tableFrame struct {
	Name    string
	Columns []string
}

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{IntDec: cbor.IntDecConvertSignedOrFail, MaxArrayElements: 1 << 20}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var encMode = func() cbor.EncMode {
	// An empty blob stays an empty blob (a nil slice would otherwise encode as null).
	m, err := cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// seal starts an archive on w: it writes the header and returns the writer of the encrypted
// stream (Close finishes the archive).
func seal(w io.Writer, kek tink.AEAD, created time.Time) (io.WriteCloser, error) {
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("backup: new archive keyset: %w", err)
	}
	var wrapped bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&wrapped), kek, keysetAD); err != nil {
		return nil, fmt.Errorf("backup: wrap archive keyset: %w", err)
	}
	hdr, err := json.Marshal(header{Format: 1, Created: created.UTC(), Keyset: wrapped.Bytes()})
	if err != nil {
		return nil, fmt.Errorf("backup: header: %w", err)
	}
	clear := make([]byte, 0, len(magic)+4+len(hdr))
	clear = append(clear, magic...)
	clear = binary.BigEndian.AppendUint32(clear, uint32(len(hdr)))
	clear = append(clear, hdr...)
	if _, err := w.Write(clear); err != nil {
		return nil, fmt.Errorf("backup: write header: %w", err)
	}
	sa, err := streamingaead.New(h)
	if err != nil {
		return nil, fmt.Errorf("backup: stream cipher: %w", err)
	}
	enc, err := sa.NewEncryptingWriter(w, clear)
	if err != nil {
		return nil, fmt.Errorf("backup: start encryption: %w", err)
	}
	return enc, nil
}

// open reads an archive's header from r and returns the decrypted stream. Any failure to
// authenticate shows as ErrCorrupt, here or while reading.
func open(r io.Reader, kek tink.AEAD) (io.Reader, error) {
	clear := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(r, clear); err != nil || string(clear[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a Haven archive", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(clear[len(magic):])
	if n > maxHeader {
		return nil, fmt.Errorf("%w: header too long", ErrCorrupt)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%w: header cut short", ErrCorrupt)
	}
	clear = append(clear, hdr...)
	var h header
	if err := json.Unmarshal(hdr, &h); err != nil || h.Format != 1 {
		return nil, fmt.Errorf("%w: unreadable header", ErrCorrupt)
	}
	kh, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(h.Keyset)), kek, keysetAD)
	if err != nil {
		return nil, fmt.Errorf("%w: the archive keyset does not open with this root key", ErrCorrupt)
	}
	sa, err := streamingaead.New(kh)
	if err != nil {
		return nil, fmt.Errorf("%w: stream cipher", ErrCorrupt)
	}
	dec, err := sa.NewDecryptingReader(r, clear)
	if err != nil {
		return nil, fmt.Errorf("%w: stream", ErrCorrupt)
	}
	return dec, nil
}

// frameWriter writes frames, hashing each until the manifest.
type frameWriter struct {
	w   io.Writer
	sum io.Writer // the running hash
	n   int64     // plaintext bytes written
}

func (fw *frameWriter) frame(kind byte, v any) error {
	body, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("backup: encode frame: %w", err)
	}
	buf := make([]byte, 0, 5+len(body))
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	buf = append(buf, body...)
	if kind != frameManifest {
		fw.sum.Write(buf)
	}
	if _, err := fw.w.Write(buf); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	fw.n += int64(len(buf))
	return nil
}

// readFrame reads one frame's kind and body; io.EOF at a clean end.
func readFrame(r io.Reader, sum io.Writer) (byte, []byte, error) {
	var hd [5]byte
	if _, err := io.ReadFull(r, hd[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := io.ReadFull(r, hd[1:]); err != nil {
		return 0, nil, fmt.Errorf("%w: frame cut short", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(hd[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: frame too long", ErrCorrupt)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("%w: frame cut short", ErrCorrupt)
	}
	if hd[0] != frameManifest {
		sum.Write(hd[:])
		sum.Write(body)
	}
	return hd[0], body, nil
}
