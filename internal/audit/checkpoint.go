package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/store"
)

// Checkpoint is a signed tree head: the installation's origin, the log's size and Merkle root
// (FormatCheckpoint), signed with Ed25519 in the signed-note format (golang.org/x/mod/sumdb/note).
// Anyone holding the verifier key and the origin can check it, and prove entries against it,
// without the database.
type Checkpoint struct {
	Size   int64
	Root   tlog.Hash
	Signed []byte // the signed note: FormatCheckpoint text and its signature lines
	Time   time.Time
}

// Witness keeps a copy of each checkpoint outside the database.
type Witness interface {
	Witness(ctx context.Context, cp Checkpoint) error
}

// Checkpointer signs and publishes checkpoints.
type Checkpointer struct {
	db        *store.DB
	signer    note.Signer
	origin    string
	witnesses []Witness
	now       func() time.Time
	mu        sync.Mutex
}

// NewCheckpointer signs checkpoints of the log named by origin (EnsureLogOrigin) with signer and
// pushes each new one to witnesses.
func NewCheckpointer(db *store.DB, signer note.Signer, origin LogOrigin, now func() time.Time, witnesses ...Witness) *Checkpointer {
	return &Checkpointer{db: db, signer: signer, origin: origin.Name, witnesses: witnesses, now: now}
}

const (
	insertCheckpoint = `INSERT INTO audit_checkpoints (size, root, signed, created_at) VALUES ($1, $2, $3, $4)`
	selectLatest     = `SELECT size, root, signed, created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1`
	selectAllCPs     = `SELECT size, root, signed, created_at FROM audit_checkpoints ORDER BY size`
)

// Publish signs the current tree head, stores it and pushes it to the witnesses. If the log has
// not grown since the latest checkpoint, it returns that one. A witness failure is returned
// after the checkpoint is stored.
func (c *Checkpointer) Publish(ctx context.Context) (Checkpoint, error) {
	if !validOrigin(c.origin) {
		return Checkpoint{}, ErrNoLogOrigin
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	head, err := Head(ctx, c.db)
	if err != nil {
		return Checkpoint{}, err
	}
	latest, err := Latest(ctx, c.db)
	if err != nil {
		return Checkpoint{}, err
	}
	if head.N == 0 || head.N == latest.Size {
		return latest, nil
	}
	signed, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(c.origin, head))}, c.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	cp := Checkpoint{Size: head.N, Root: head.Hash, Signed: signed, Time: c.now().UTC()}
	if _, err := c.db.ExecContext(ctx, insertCheckpoint, cp.Size, cp.Root[:], cp.Signed, cp.Time.UnixNano()); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	var errs []error
	for _, w := range c.witnesses {
		if err := w.Witness(ctx, cp); err != nil {
			errs = append(errs, err)
		}
	}
	return cp, errors.Join(errs...)
}

// Run publishes a checkpoint every interval until ctx ends, then once more, so that a graceful
// shutdown leaves the whole log covered.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, err := c.Publish(final)
			cancel()
			if err != nil {
				report(err)
			}
			return
		case <-t.C:
			if _, err := c.Publish(ctx); err != nil {
				report(err)
			}
		}
	}
}

// Latest returns the newest stored checkpoint, or a zero Checkpoint if there is none.
func Latest(ctx context.Context, db *store.DB) (Checkpoint, error) {
	cp, err := scanCheckpoint(db.QueryRowContext(ctx, selectLatest))
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: latest checkpoint: %w", err)
	}
	return cp, nil
}

func scanCheckpoint(r interface{ Scan(...any) error }) (Checkpoint, error) {
	var cp Checkpoint
	var root []byte
	var ns int64
	if err := r.Scan(&cp.Size, &root, &cp.Signed, &ns); err != nil {
		return Checkpoint{}, err
	}
	copy(cp.Root[:], root)
	cp.Time = time.Unix(0, ns).UTC()
	return cp, nil
}

// ErrForeignCheckpoint means a checkpoint names another log than the one it is checked as.
var ErrForeignCheckpoint = errors.New("audit: checkpoint of another log (origin differs)")

// OpenCheckpoint checks a signed checkpoint against the verifier and the log's origin, and
// returns the tree it signs. A checkpoint signed by the right key for another installation's log
// (another origin) is refused with ErrForeignCheckpoint.
func OpenCheckpoint(signed []byte, v note.Verifier, o LogOrigin) (tlog.Tree, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	origin, t, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return tlog.Tree{}, err
	}
	if !o.Accepts(origin, t.N) {
		return tlog.Tree{}, ErrForeignCheckpoint
	}
	return t, nil
}

// DirWitness writes each checkpoint to its own file, <size>.checkpoint, and never overwrites
// one: a directory on another disk or machine that keeps the history of tree heads.
type DirWitness struct{ Dir string }

// Witness writes cp.
func (w DirWitness) Witness(_ context.Context, cp Checkpoint) error {
	if err := os.MkdirAll(w.Dir, 0o700); err != nil {
		return fmt.Errorf("audit: witness directory: %w", err)
	}
	path := filepath.Join(w.Dir, strconv.FormatInt(cp.Size, 10)+".checkpoint")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		old, rerr := os.ReadFile(path)
		if rerr == nil && bytes.Equal(old, cp.Signed) {
			return nil
		}
		return fmt.Errorf("audit: witness already holds a different checkpoint of size %d", cp.Size)
	}
	if err != nil {
		return fmt.Errorf("audit: witness file: %w", err)
	}
	if _, err := f.Write(cp.Signed); err != nil {
		f.Close()
		return fmt.Errorf("audit: witness write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit: witness sync: %w", err)
	}
	return f.Close()
}

// HTTPWitness POSTs each signed checkpoint (text/plain) to an external endpoint.
type HTTPWitness struct {
	URL    string
	Client *http.Client
}

// Witness sends cp and expects a 2xx answer.
func (w HTTPWitness) Witness(ctx context.Context, cp Checkpoint) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(cp.Signed))
	if err != nil {
		return fmt.Errorf("audit: witness request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("audit: witness answered %d", resp.StatusCode)
	}
	return nil
}
