package consult

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/store"
)

// Posted is a stored message's id and when the server took it.
type Posted struct {
	ID string `json:"id"`
	At string `json:"at"` // RFC 3339
}

const (
	insertMessage = `INSERT INTO consult_messages (thread, id, sender_account, sender_device, seq, envelope, size_bytes, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	countTaken = `SELECT COUNT(*) FROM consult_messages WHERE thread = $1 AND (id = $2 OR (sender_device = $3 AND seq = $4))`
	selectAt   = `SELECT created_at FROM consult_messages WHERE thread = $1 AND id = $2`
	selectMsgs = `SELECT envelope FROM consult_messages WHERE thread = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3))
		ORDER BY created_at, id LIMIT `
	insertAttachment = `INSERT INTO consult_attachments (thread, id, sender_account, size_bytes, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	selectAttachment = `SELECT bytes FROM consult_attachments WHERE thread = $1 AND id = $2`
)

// PostMessage stores an envelope in a thread (message.send) as it came, after the checks the
// server can make without keys: the caller belongs to the thread (the door decides first,
// whatever the body holds), the envelope is at most MaxEnvelopeBytes, names this thread, is
// sent by the caller from one of their current devices, and its (sender device, seq) and id
// are new. Then the signalling hub is told.
func (s *Service) PostMessage(ctx context.Context, by access.Subject, threadID string, envelope []byte, o Origin) (Posted, error) {
	t, err := s.resolve(ctx, threadID)
	if err != nil {
		return Posted{}, err
	}
	a := t.act(by, access.SendMessage, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return Posted{}, err
	}
	if len(envelope) > MaxEnvelopeBytes {
		return Posted{}, ErrEnvelopeTooLarge
	}
	h, err := ParseHeader(envelope)
	if err != nil {
		return Posted{}, err
	}
	if h.Thread != threadID {
		return Posted{}, ErrWrongThread
	}
	if h.Sender.Account != by.AccountID {
		return Posted{}, ErrWrongSender
	}
	if _, err := s.currentDevice(ctx, by.AccountID, h.Sender.Device); err != nil {
		return Posted{}, err
	}
	var taken int
	if err := s.db.QueryRowContext(ctx, countTaken, threadID, h.ID, h.Sender.Device, h.Seq).Scan(&taken); err != nil {
		return Posted{}, fmt.Errorf("consult: check sequence: %w", err)
	}
	if taken > 0 {
		return Posted{}, ErrReplayedSeq
	}
	at := s.stamp()
	p, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (Posted, error) {
		_, err := s.db.ExecContext(ctx, insertMessage, threadID, h.ID, by.AccountID, h.Sender.Device, h.Seq, envelope, len(envelope), at)
		if store.IsUniqueViolation(err) {
			return Posted{}, ErrReplayedSeq
		}
		if err != nil {
			return Posted{}, fmt.Errorf("consult: store message: %w", err)
		}
		return Posted{ID: h.ID, At: unixRFC3339(at)}, nil
	})
	if err != nil {
		return Posted{}, err
	}
	s.notify(t.visitID, threadID, h.ID)
	return p, nil
}

// Messages answers a thread's envelopes as they came (message.read), oldest first, after the
// message with id after (all when empty), at most MaxMessages.
func (s *Service) Messages(ctx context.Context, by access.Subject, threadID, after string, o Origin) ([]json.RawMessage, error) {
	t, err := s.resolve(ctx, threadID)
	if err != nil {
		return nil, err
	}
	return guard.Do(ctx, s.door, t.act(by, access.ReadMessages, o), func(ctx context.Context) ([]json.RawMessage, error) {
		var since int64 = -1
		if after != "" {
			err := s.db.QueryRowContext(ctx, selectAt, threadID, after).Scan(&since)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, ErrNotFound
			}
			if err != nil {
				return nil, fmt.Errorf("consult: messages: %w", err)
			}
		}
		rows, err := s.db.QueryContext(ctx, selectMsgs+fmt.Sprint(MaxMessages), threadID, since, after)
		if err != nil {
			return nil, fmt.Errorf("consult: messages: %w", err)
		}
		defer rows.Close()
		out := []json.RawMessage{}
		for rows.Next() {
			var env []byte
			if err := rows.Scan(&env); err != nil {
				return nil, fmt.Errorf("consult: messages: %w", err)
			}
			out = append(out, env)
		}
		return out, rows.Err()
	})
}

// PutAttachment stores an attachment's ciphertext (message.send), at most MaxAttachmentBytes,
// and answers its id. Its key travels inside the message that names it, never here.
func (s *Service) PutAttachment(ctx context.Context, by access.Subject, threadID string, ciphertext []byte, o Origin) (string, error) {
	t, err := s.resolve(ctx, threadID)
	if err != nil {
		return "", err
	}
	a := t.act(by, access.SendMessage, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return "", err
	}
	if len(ciphertext) == 0 || len(ciphertext) > MaxAttachmentBytes {
		return "", ErrAttachmentTooLarge
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("consult: attachment id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (string, error) {
		if _, err := s.db.ExecContext(ctx, insertAttachment, threadID, id, by.AccountID, len(ciphertext), ciphertext, s.now().UnixNano()); err != nil {
			return "", fmt.Errorf("consult: store attachment: %w", err)
		}
		return id, nil
	})
}

// Attachment answers an attachment's ciphertext (message.read).
func (s *Service) Attachment(ctx context.Context, by access.Subject, threadID, id string, o Origin) ([]byte, error) {
	t, err := s.resolve(ctx, threadID)
	if err != nil {
		return nil, err
	}
	return guard.Do(ctx, s.door, t.act(by, access.ReadMessages, o), func(ctx context.Context) ([]byte, error) {
		var b []byte
		err := s.db.QueryRowContext(ctx, selectAttachment, threadID, id).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("consult: attachment: %w", err)
		}
		return b, nil
	})
}
