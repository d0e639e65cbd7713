// Package consult is the server side of Haven's end-to-end encrypted consultations (the
// protocol is docs/e2ee.md): the key directory, whose every change is a leaf of the audit
// Merkle log; threads of encrypted messages and attachments, stored and relayed as they came;
// who may join a visit's call; and short-lived credentials for the embedded TURN relay.
//
// It never holds a private key, a content key or a message in clear: it checks what it can
// without keys (who sends, to which thread, sizes, sequence numbers) and passes every act
// through the one door (package guard).
package consult

import (
	"context"
	"sync"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/turncred"
)

// Origin is where a request came from.
type Origin = principal.Origin

// Limits of the protocol (docs/e2ee.md).
const (
	// MaxEnvelopeBytes bounds one message's envelope.
	MaxEnvelopeBytes = 256 << 10
	// MaxAttachmentBytes bounds one attachment's ciphertext.
	MaxAttachmentBytes = 10 << 20
	// MaxParticipants is how many devices a visit's call holds at once (a full mesh of four).
	MaxParticipants = 4
	// MaxMessages is how many messages one fetch answers.
	MaxMessages = 200
	// TURNTTL is how long a TURN credential is good for.
	TURNTTL = turncred.TTL
	// maxDevices bounds how many current devices one person may have in the directory.
	maxDevices = 20
)

// Config is the service's configuration.
type Config struct {
	// TURNSecret is the key TURN credentials are made with (package turncred): 32 random bytes the
	// server makes at start and gives the embedded relay too. Several nodes must share it
	// (a later multi-node issue). Empty: TURN is off and TURNCredentials answers no servers.
	TURNSecret []byte
	// TURNURLs are the relay's URLs handed to clients (TURNURLs builds them).
	TURNURLs []string
}

// Deps are what the service asks of other domains, each through a narrow interface.
type Deps struct {
	// Staff names workforce accounts (identity.Service.DisplayNames).
	Staff interface {
		DisplayNames(ctx context.Context, accountIDs []string) (map[string]string, error)
	}
	// Patients opens patients' names for a list already decided (clinical.Records.OpenNames).
	Patients interface {
		OpenNames(ctx context.Context, ids []string) (map[string]string, error)
	}
	// GuestNames names a patient's visit guests (visits.Service.GuestNames).
	GuestNames func(ctx context.Context, patientID string, accountIDs []string) (map[string]string, error)
	// Publish signs a checkpoint covering the log as it is (audit.Checkpointer.Publish).
	Publish func(ctx context.Context) (audit.Checkpoint, error)
	// Verifier and Origin describe the checkpoints Publish signs: the origin line a
	// directory answer names. Origin is the log's name (audit.LogOrigin.Name).
	Origin string
}

// Notifier is told of each message posted, after it is stored, so the signalling hub can tell
// the visit's sockets to fetch it ({"type":"message"}). visitID is empty for a patient's thread.
type Notifier interface {
	MessagePosted(visitID, thread, id string)
}

// Service is the consultation service.
type Service struct {
	db   *store.DB
	door *guard.Door
	deps Deps
	cfg  Config
	now  func() time.Time

	mu       sync.RWMutex
	notifier Notifier
	// lastAt is the newest message time this node gave: messages are ordered by it, so each
	// gets a later one even when the clock has not moved (a fake clock, a coarse one).
	lastAt int64
}

// New builds the service.
func New(db *store.DB, door *guard.Door, deps Deps, cfg Config, now func() time.Time) *Service {
	return &Service{db: db, door: door, deps: deps, cfg: cfg, now: now}
}

// SetNotifier sets who is told of new messages (the signalling hub); nil tells no one.
func (s *Service) SetNotifier(n Notifier) {
	s.mu.Lock()
	s.notifier = n
	s.mu.Unlock()
}

func (s *Service) notify(visitID, thread, id string) {
	s.mu.RLock()
	n := s.notifier
	s.mu.RUnlock()
	if n != nil {
		n.MessagePosted(visitID, thread, id)
	}
}

// stamp is the time a new message is stored at: now, or just after the last one.
func (s *Service) stamp() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAt = max(s.now().UnixNano(), s.lastAt+1)
	return s.lastAt
}

// act is one act at the door.
func act(by access.Subject, a access.Action, typ, id, patientID string, o Origin) guard.Act {
	return guard.Act{By: by, Action: a, Resource: access.Resource{Type: typ, ID: id, PatientID: patientID}, Origin: o}
}
