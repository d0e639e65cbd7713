package privacy

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
)

// The trail's types, named here so that transports reach them through this service and never
// import the log.
type (
	// Entry is one audit entry as the privacy officer reads it.
	Entry = audit.Entry
	// Filter selects entries in a search of the trail.
	Filter = audit.Filter
	// Checkpoint is a signed tree head of the trail.
	Checkpoint = audit.Checkpoint
)

// LatestCheckpoint returns the latest signed checkpoint (zero Size if none yet). It is public:
// it carries the log's size and root hash only.
func (s *Service) LatestCheckpoint(ctx context.Context) (Checkpoint, error) {
	return audit.Latest(ctx, s.db)
}

// CheckpointStatus returns the latest checkpoint and whether the stored tree still has its root
// at its size, for the privacy officer's page.
func (s *Service) CheckpointStatus(ctx context.Context, by access.Subject, o audit.Origin) (Checkpoint, bool, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "checkpoint", o); err != nil {
		return Checkpoint{}, false, err
	}
	cp, err := audit.Latest(ctx, s.db)
	if err != nil || cp.Size == 0 {
		return cp, false, err
	}
	root, err := tlog.TreeHash(cp.Size, audit.StoredHashes(ctx, s.db))
	return cp, err == nil && root == cp.Root, nil
}

// PublishCheckpoint signs the current tree head now (administrators, on demand) and returns it.
// The act is recorded before the checkpoint is signed, so the checkpoint covers its own
// publication. A witness that did not take its copy is reported in witnessErr; the checkpoint
// is still stored and signed, and the schedule retries with the next one.
func (s *Service) PublishCheckpoint(ctx context.Context, by access.Subject, o audit.Origin) (cp Checkpoint, witnessErr error, err error) {
	a := guard.Act{By: by, Action: access.PublishAudit, Resource: access.Resource{Type: "Checkpoint"}, Origin: o}
	cp, err = guard.Do(ctx, s.door, a, func(ctx context.Context) (Checkpoint, error) {
		cp, werr := s.checkpoints.Publish(ctx)
		witnessErr = werr
		if werr != nil && cp.Signed == nil {
			return Checkpoint{}, fmt.Errorf("privacy: publish checkpoint: %w", werr)
		}
		return cp, nil
	})
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return cp, witnessErr, nil
}

// ExportTrail returns the entries matching q as FHIR R4 AuditEvent NDJSON, after a recent
// step-up (the policy marks export so). A patient's name is looked up as Trail does; a name
// that is no patient's exports nothing.
func (s *Service) ExportTrail(ctx context.Context, by access.Subject, q TrailQuery, o audit.Origin) ([]byte, error) {
	return guard.Do(ctx, s.door, act(by, access.ExportAudit, q.PatientID, "export", o), func(ctx context.Context) ([]byte, error) {
		f := q.Filter
		if name := strings.TrimSpace(q.PatientName); name != "" {
			if s.deps.Patients == nil {
				return nil, nil
			}
			ids, err := s.deps.Patients.PatientsNamed(ctx, by, name, o)
			if err != nil || len(ids) == 0 {
				return nil, err
			}
			f.PatientIDs = ids
		}
		es, err := audit.Search(ctx, s.db, f)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		err = audit.WriteFHIRNDJSON(&b, es)
		return b.Bytes(), err
	})
}
