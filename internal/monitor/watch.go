package monitor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"haven/internal/ids"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/store"
)

// Webhook receives alerts as JSON, signed with HMAC-SHA256 over the body in the header
// X-Haven-Signature ("sha256=<hex>"), so the receiver can tell Haven's alerts from forgeries.
type Webhook struct {
	URL    string
	Secret []byte
	Client *http.Client
}

// Send posts one alert.
func (w Webhook) Send(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("monitor: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Haven-Signature", Sign(w.Secret, body))
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("monitor: webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("monitor: webhook answered %d", resp.StatusCode)
	}
	return nil
}

// Sign is the webhook signature of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Watcher follows the audit log, runs the detectors, and stores, counts and forwards alerts.
type Watcher struct {
	db       *store.DB
	log      *slog.Logger
	detector *Detector
	webhook  *Webhook
	alerts   *prometheus.CounterVec
	now      func() time.Time

	pollMu  sync.Mutex // one poll at a time: the detector is fed in log order
	mu      sync.Mutex
	flagged map[string]bool
	last    int64 // index of the last entry fed to the detector
	syslog  *Syslog
	mailer  *Mailer
	// verifier checks checkpoint signatures, and origin the log they name, in the integrity
	// check, when set.
	verifier note.Verifier
	origin   audit.LogOrigin
	// integrityAlerted is the checkpoint size already alerted on, so a failure alerts once.
	integrityAlerted int64
	// unreadable holds the patients whose record already raised a record-integrity alert in
	// this process, so a broken record shown in every list alerts once.
	unreadable map[string]bool
}

// Unreadable raises a record-integrity alert, once per patient, for a record whose ciphertext
// did not open (clinical.Alarm). The alert names the patient identifier only; the cause is
// logged without PHI (a decryption error carries none).
func (w *Watcher) Unreadable(ctx context.Context, patientID string, cause error) {
	w.mu.Lock()
	if w.unreadable == nil {
		w.unreadable = map[string]bool{}
	}
	seen := w.unreadable[patientID]
	w.unreadable[patientID] = true
	w.mu.Unlock()
	if seen {
		return
	}
	w.log.Error("record does not open", "patient_id", patientID, "error", cause.Error())
	a := Alert{Kind: RecordIntegrity, Severity: "high", Subject: patientID,
		Detail: "a patient record could not be decrypted: restore it from a backup or check the keys", Time: w.now().UTC()}
	if err := w.Raise(context.WithoutCancel(ctx), a); err != nil {
		w.log.Error("record integrity alert", "patient_id", patientID, "error", err.Error())
	}
}

// VerifyCheckpointsWith makes the integrity check also verify the latest checkpoint's signature
// and that it names this installation's log (origin).
func (w *Watcher) VerifyCheckpointsWith(v note.Verifier, origin audit.LogOrigin) {
	w.verifier, w.origin = v, origin
}

// MailTo makes every alert also go out by e-mail.
func (w *Watcher) MailTo(m *Mailer) { w.mailer = m }

// ForwardTo makes every poll also forward new entries to a SIEM.
func (w *Watcher) ForwardTo(s *Syslog) { w.syslog = s }

// NewWatcher starts following the log from its current end: history is not re-alerted.
func NewWatcher(ctx context.Context, db *store.DB, rules Rules, m *Metrics, webhook *Webhook, log *slog.Logger, now func() time.Time) (*Watcher, error) {
	w := &Watcher{db: db, log: log, webhook: webhook, now: now, flagged: map[string]bool{}}
	w.detector = NewDetector(rules, w.isFlagged)
	w.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "haven_security_alerts_total", Help: "Security alerts raised, by kind."}, []string{"kind"})
	if err := m.Register(w.alerts); err != nil {
		return nil, fmt.Errorf("monitor: register metrics: %w", err)
	}
	head, err := audit.Head(ctx, db)
	if err != nil {
		return nil, err
	}
	w.last = head.N
	if err := w.loadFlags(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Watcher) isFlagged(patientID string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flagged[patientID]
}

func (w *Watcher) loadFlags(ctx context.Context) error {
	rows, err := w.db.QueryContext(ctx, `SELECT patient_id FROM flagged_patients`)
	if err != nil {
		return fmt.Errorf("monitor: load flags: %w", err)
	}
	defer rows.Close()
	flags := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("monitor: load flags: %w", err)
		}
		flags[id] = true
	}
	w.mu.Lock()
	w.flagged = flags
	w.mu.Unlock()
	return rows.Err()
}

// Poll feeds every entry appended since the last poll to the detectors and handles the alerts.
func (w *Watcher) Poll(ctx context.Context) ([]Alert, error) {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	if err := w.loadFlags(ctx); err != nil {
		return nil, err
	}
	var raised []Alert
	for {
		es, err := audit.Since(ctx, w.db, w.last, 1000)
		if err != nil {
			return raised, err
		}
		for _, e := range es {
			for _, a := range w.detector.Observe(e) {
				if err := w.Raise(ctx, a); err != nil {
					return raised, err
				}
				raised = append(raised, a)
			}
			w.last = e.Seq
		}
		if len(es) < 1000 {
			break
		}
	}
	if a, size, bad := w.checkIntegrity(ctx); bad && size != w.integrityAlerted {
		if err := w.Raise(ctx, a); err != nil {
			return raised, err
		}
		w.integrityAlerted = size
		raised = append(raised, a)
	}
	return raised, nil
}

// checkIntegrity compares the latest signed checkpoint with the stored Merkle tree: a cheap
// check between full `haven audit verify` runs.
func (w *Watcher) checkIntegrity(ctx context.Context) (Alert, int64, bool) {
	cp, err := audit.Latest(ctx, w.db)
	if err != nil || cp.Size == 0 {
		return Alert{}, 0, false
	}
	if w.verifier != nil {
		if tree, err := audit.OpenCheckpoint(cp.Signed, w.verifier, w.origin); err != nil || tree.N != cp.Size || tree.Hash != cp.Root {
			return Alert{Kind: AuditIntegrity, Severity: "high", Subject: fmt.Sprint("checkpoint ", cp.Size),
				Detail: "the latest audit checkpoint's signature does not verify", Time: w.now().UTC()}, cp.Size, true
		}
	}
	root, err := tlog.TreeHash(cp.Size, audit.StoredHashes(ctx, w.db))
	if err == nil && root == cp.Root {
		return Alert{}, 0, false
	}
	return Alert{Kind: AuditIntegrity, Severity: "high", Subject: fmt.Sprint("checkpoint ", cp.Size),
		Detail: "the stored audit tree no longer matches the latest signed checkpoint", Time: w.now().UTC()}, cp.Size, true
}

const insertAlert = `INSERT INTO security_alerts (id, kind, severity, subject, detail, entry_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// Raise stores an alert, counts it and forwards it. A webhook failure is logged, not returned:
// the alert is already stored and shown in the console.
func (w *Watcher) Raise(ctx context.Context, a Alert) error {
	if _, err := w.db.ExecContext(ctx, insertAlert, ids.New(), a.Kind, a.Severity, a.Subject, a.Detail, a.Seq, a.Time.UnixNano()); err != nil {
		return fmt.Errorf("monitor: store alert: %w", err)
	}
	w.alerts.WithLabelValues(a.Kind).Inc()
	w.log.Warn("security alert", "kind", a.Kind, "severity", a.Severity, "subject", a.Subject, "entry", a.Seq)
	if w.webhook != nil {
		if err := w.webhook.Send(ctx, a); err != nil {
			w.log.Error("security alert webhook", "kind", a.Kind, "error", err.Error())
		}
	}
	if w.mailer != nil {
		if err := w.mailer.Send(ctx, a); err != nil {
			w.log.Error("security alert e-mail", "kind", a.Kind, "error", err.Error())
		}
	}
	return nil
}

// Run polls every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := w.Poll(ctx); err != nil && !errors.Is(err, context.Canceled) {
				w.log.Error("security monitor", "error", err.Error())
			}
			if w.syslog != nil {
				if _, err := w.syslog.Forward(ctx); err != nil && !errors.Is(err, context.Canceled) {
					w.log.Error("siem forwarding", "error", err.Error())
				}
			}
		}
	}
}

// Recent returns the latest alerts, newest first.
func Recent(ctx context.Context, db *store.DB, limit int) ([]Alert, error) {
	rows, err := db.QueryContext(ctx, `SELECT kind, severity, subject, detail, entry_seq, created_at FROM security_alerts ORDER BY created_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("monitor: alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var ns int64
		if err := rows.Scan(&a.Kind, &a.Severity, &a.Subject, &a.Detail, &a.Seq, &ns); err != nil {
			return nil, fmt.Errorf("monitor: alerts: %w", err)
		}
		a.Time = time.Unix(0, ns).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// Flag marks a patient's record so that every staff access raises an alert.
func Flag(ctx context.Context, db *store.DB, patientID, kind, by string, now time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO flagged_patients (patient_id, kind, flagged_by, created_at) VALUES ($1, $2, $3, $4)`,
		patientID, kind, by, now.UnixNano())
	if err != nil && !store.IsUniqueViolation(err) {
		return fmt.Errorf("monitor: flag: %w", err)
	}
	return nil
}
