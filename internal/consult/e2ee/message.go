package e2ee

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// MaxAttachment is the largest attachment ciphertext the server accepts (10 MiB).
const MaxAttachment = 10 << 20

// Message is an envelope's plaintext (§3).
type Message struct {
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment describes one encrypted file: the id the server gave its ciphertext, its name,
// media type and size, and the key, iv and SHA-256 (hex, of the plaintext bytes) to open it.
type Attachment struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	Key    B64    `json:"key"`
	IV     B64    `json:"iv"`
	SHA256 string `json:"sha256"`
}

// Marshal writes the message as an envelope's plaintext.
func (m Message) Marshal() ([]byte, error) {
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("e2ee: message: %w", err)
	}
	return b, nil
}

// ParseMessage reads an opened envelope's plaintext, refusing unknown fields and attachments
// whose key or iv has the wrong size.
func ParseMessage(plain []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: message: %v", ErrMalformed, err)
	}
	for _, a := range m.Attachments {
		if len(a.Key) != keySize || len(a.IV) != ivSize || a.Size < 0 || len(a.SHA256) != 64 {
			return Message{}, fmt.Errorf("%w: attachment", ErrMalformed)
		}
	}
	return m, nil
}

// fileAAD binds attachment ciphertexts to their purpose.
const fileAAD = "haven-e2ee-v1 file"

// SealFile encrypts a file before upload with a fresh key: AES-256-GCM(FK, iv, data, aad =
// "haven-e2ee-v1 file"). It returns the ciphertext to upload and the Attachment to put in the
// message (its ID is the one the upload answers). random (crypto/rand.Reader when nil)
// supplies the 32-byte key, then the 12-byte iv.
func SealFile(random io.Reader, name, mediaType string, data []byte) (Attachment, []byte, error) {
	if random == nil {
		random = rand.Reader
	}
	if len(data)+tagSize > MaxAttachment {
		return Attachment{}, nil, fmt.Errorf("e2ee: attachment larger than %d MiB: send a smaller file", MaxAttachment>>20)
	}
	a := Attachment{Name: name, Type: mediaType, Size: int64(len(data)), Key: make(B64, keySize), IV: make(B64, ivSize)}
	if _, err := io.ReadFull(random, a.Key); err != nil {
		return Attachment{}, nil, fmt.Errorf("e2ee: file key: %w", err)
	}
	if _, err := io.ReadFull(random, a.IV); err != nil {
		return Attachment{}, nil, fmt.Errorf("e2ee: file iv: %w", err)
	}
	sum := sha256.Sum256(data)
	a.SHA256 = hex.EncodeToString(sum[:])
	g, err := newGCM(a.Key)
	if err != nil {
		return Attachment{}, nil, err
	}
	return a, g.Seal(nil, a.IV, data, []byte(fileAAD)), nil
}

// OpenFile decrypts a downloaded attachment and checks its size and hash against the message
// that carried its key: ErrAltered if anything differs.
func OpenFile(a Attachment, ciphertext []byte) ([]byte, error) {
	if len(a.Key) != keySize || len(a.IV) != ivSize {
		return nil, fmt.Errorf("%w: attachment key", ErrMalformed)
	}
	g, err := newGCM(a.Key)
	if err != nil {
		return nil, err
	}
	data, err := g.Open(nil, a.IV, ciphertext, []byte(fileAAD))
	if err != nil {
		return nil, fmt.Errorf("%w: attachment does not open", ErrAltered)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != a.Size || subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(a.SHA256)) != 1 {
		return nil, fmt.Errorf("%w: attachment size or hash differs", ErrAltered)
	}
	return data, nil
}
