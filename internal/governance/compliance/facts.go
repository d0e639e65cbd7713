// Package compliance owns the compliance report: live checks of this installation mapped to
// the HIPAA Security Rule's technical safeguards (45 CFR §164.312) and to the items of the
// 2025 proposed rule (MFA, encryption, asset inventory, backup, key rotation, retention,
// alerting). Each check passes, fails or warns with its evidence: counts, times and settings,
// never PHI and never a secret.
//
// The checks are pure functions of Facts; Gather reads the facts from the database, the data
// directory and the configuration. The report is read by administrators and the privacy
// officer through the one door (Service.Report, compliance.read), and by the operator with
// `haven compliance report`.
package compliance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"haven/internal/audit"
	"haven/internal/config"
	"haven/internal/governance"
	"haven/internal/store"
)

// Settings are the facts the configuration holds.
type Settings struct {
	Version  string // Haven's version
	DataDir  string // where the root key file and the erasure ledger live
	Database string // "SQLite" or "PostgreSQL"
	// TLSMinVersion is the lowest TLS version Haven accepts (fixed in code: 1.2) and HSTS
	// whether it sends Strict-Transport-Security (always, two years).
	TLSMinVersion string
	HSTS          bool
	// ACME: certificates from an ACME authority (a public host name) rather than self-signed.
	ACME bool
	// Session timeouts (automatic logoff).
	IdleWorkforce, IdlePatient, AbsoluteLifetime time.Duration
	RequireStaffPasskey                          bool
	// Witnessed: signed checkpoints are copied outside the database (a directory or a URL).
	Witnessed bool
	// Alert destinations.
	AlertEmail, AlertWebhook, SIEM bool
	// RetentionConfigured: retention periods are set for every record type and the purge that
	// applies them is scheduled (--purge-interval).
	RetentionConfigured bool
	// BreakGlass: an emergency-access procedure is built in (not yet).
	BreakGlass bool
}

// SettingsFrom reads the settings of a serve configuration.
func SettingsFrom(c config.Server, version string) Settings {
	db := "SQLite"
	if store.IsPostgresDSN(c.DB) {
		db = "PostgreSQL"
	}
	return Settings{
		Version: version, DataDir: c.DataDir, Database: db, TLSMinVersion: "1.2", HSTS: true,
		ACME:          c.ACMEEmail != "" || c.ACMEDirectory != "",
		IdleWorkforce: c.Identity.IdleWorkforce, IdlePatient: c.Identity.IdlePatient, AbsoluteLifetime: c.Identity.AbsoluteLifetime,
		RequireStaffPasskey: c.Identity.RequireWorkforcePasskey,
		Witnessed:           c.WitnessDir != "" || c.WitnessURL != "",
		AlertEmail:          c.SMTP.Addr != "" && len(c.AlertEmailTo) > 0,
		AlertWebhook:        c.AlertWebhookURL != "",
		SIEM:                c.SyslogAddr != "",
		RetentionConfigured: c.PurgeInterval > 0 && len(c.Retention) > 0,
	}
}

// Facts are everything the checks read.
type Facts struct {
	Settings
	At        time.Time
	GoVersion string

	// Accounts.
	Accounts, DistinctAccountIDs int
	StaffActive                  int // active workforce accounts (every role but patient and guest)
	StaffWithoutFactor           int // of those, with neither an authenticator app nor a passkey
	// Encryption at rest.
	Patients, PatientsWithoutKeyset int
	SealedSampled, SealedLookPlain  int
	// Audit.
	AuditEntries     int64
	AuditOK          bool
	AuditProblem     string // what verification found, empty if it verified (no PHI: positions and kinds)
	AuditCovered     int64
	Checkpoints      int
	LatestCheckpoint time.Time // zero if none
	// Governance runs (zero if never).
	LastBackup, LastRestoreDrill, LastRotation time.Time
	// RootKeyWritten is the local root key file's modification time (zero if there is no local
	// file, as with an external KMS).
	RootKeyWritten time.Time
	// Connected systems (SMART Backend Services clients) that may ask for tokens, and of those
	// the ones whose business associate agreement is not in force today.
	ConnectedSystems, ConnectedLapsed int
}

const (
	countAccounts     = `SELECT COUNT(*), COUNT(DISTINCT id) FROM accounts`
	countStaff        = `SELECT COUNT(*) FROM accounts WHERE status = 'active' AND role NOT IN ('patient', 'guest')`
	countStaffNoMFA   = `SELECT COUNT(*) FROM accounts a WHERE a.status = 'active' AND a.role NOT IN ('patient', 'guest') AND a.totp_secret_ct IS NULL AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id)`
	countPatients     = `SELECT COUNT(*) FROM patients`
	countNoKeyset     = `SELECT COUNT(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM patient_keys k WHERE k.patient_id = p.id)`
	sampleSealedLimit = 20
	// Agreement dates are YYYY-MM-DD text: compared as text, they compare as dates.
	countConnected = `SELECT COUNT(*), COALESCE(SUM(CASE WHEN agreement_start > $1 OR agreement_end < $1 THEN 1 ELSE 0 END), 0)
		FROM smart_clients WHERE disabled = 0`
)

// sealedColumns are PHI columns sampled for the at-rest check.
var sealedColumns = []struct{ table, column string }{
	{"patients", "name_ct"}, {"patients", "birth_date_ct"}, {"notes", "body_ct"}, {"record_items", "body_ct"},
	{"documents", "meta_ct"}, {"prescriptions", "body_ct"},
}

// Gather reads the facts of the installation behind db.
func Gather(ctx context.Context, db *store.DB, s Settings, now time.Time) (Facts, error) {
	f := Facts{Settings: s, At: now.UTC(), GoVersion: runtime.Version()}
	if err := db.QueryRowContext(ctx, countAccounts).Scan(&f.Accounts, &f.DistinctAccountIDs); err != nil {
		return Facts{}, fmt.Errorf("compliance: count accounts: %w", err)
	}
	for _, q := range []struct {
		sql string
		to  *int
	}{{countStaff, &f.StaffActive}, {countStaffNoMFA, &f.StaffWithoutFactor}, {countPatients, &f.Patients}, {countNoKeyset, &f.PatientsWithoutKeyset}} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.to); err != nil {
			return Facts{}, fmt.Errorf("compliance: count: %w", err)
		}
	}
	if err := db.QueryRowContext(ctx, countConnected, f.At.Format(time.DateOnly)).Scan(&f.ConnectedSystems, &f.ConnectedLapsed); err != nil {
		return Facts{}, fmt.Errorf("compliance: count connected systems: %w", err)
	}
	for _, c := range sealedColumns {
		n, plain, err := sampleSealed(ctx, db, c.table, c.column)
		if err != nil {
			return Facts{}, err
		}
		f.SealedSampled += n
		f.SealedLookPlain += plain
	}
	rep, err := audit.Verify(ctx, db, nil)
	if err != nil {
		return Facts{}, fmt.Errorf("compliance: %w", err)
	}
	f.AuditEntries, f.AuditOK, f.AuditProblem, f.AuditCovered, f.Checkpoints = rep.Entries, rep.OK(), rep.Problem, rep.Covered, rep.Checkpoints
	cp, err := audit.Latest(ctx, db)
	if err != nil {
		return Facts{}, fmt.Errorf("compliance: %w", err)
	}
	if cp.Size > 0 {
		f.LatestCheckpoint = cp.Time
	}
	for _, r := range []struct {
		kind string
		to   *time.Time
	}{{governance.RunBackup, &f.LastBackup}, {governance.RunRestoreDrill, &f.LastRestoreDrill}, {governance.RunRotation, &f.LastRotation}} {
		run, ok, err := governance.LastRun(ctx, db, r.kind, true)
		if err != nil {
			return Facts{}, fmt.Errorf("compliance: %w", err)
		}
		if ok {
			*r.to = run.FinishedAt
		}
	}
	if s.DataDir != "" {
		if fi, err := os.Stat(filepath.Join(s.DataDir, "root.key")); err == nil {
			f.RootKeyWritten = fi.ModTime().UTC()
		}
	}
	return f, nil
}

// sampleSealed reads up to sampleSealedLimit values of table.column and counts those that do
// not look like Tink ciphertext (a 5-byte key prefix starting 0x01, a 12-byte nonce and a
// 16-byte tag at least). The table and column names are constants of this file.
func sampleSealed(ctx context.Context, db *store.DB, table, column string) (sampled, plain int, err error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s ORDER BY created_at DESC LIMIT %d`, column, table, sampleSealedLimit))
	if err != nil {
		return 0, 0, fmt.Errorf("compliance: sample %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			return 0, 0, fmt.Errorf("compliance: sample %s.%s: %w", table, column, err)
		}
		sampled++
		if len(v) < 33 || v[0] != 0x01 {
			plain++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("compliance: sample %s.%s: %w", table, column, err)
	}
	return sampled, plain, nil
}
