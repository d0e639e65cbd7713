package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"haven/internal/governance"
	"haven/internal/server"
	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// installation is a running Haven with a clinician and two patients.
type installation struct {
	e       *servertest.Env
	dsn     string // empty for SQLite in the data directory
	clin    *servertest.Client
	officer *servertest.Client // the privacy officer, who approves erasures
	a, b    string             // patient ids
}

var (
	patientA = servertest.PatientIn{Name: "Octavia Backupworth", BirthDate: "1970-02-03", Phone: "+1 555 0142 8080", Email: "octavia.backup@canary.example"}
	patientB = servertest.PatientIn{Name: "Barnaby Restorewell", BirthDate: "1982-09-30", Phone: "+1 555 0143 9191", Email: "barnaby.restore@canary.example"}
)

func newInstallation(t *testing.T, d store.Dialect) *installation {
	t.Helper()
	in := &installation{}
	if d == store.Postgres {
		in.dsn = storetest.DSN(t, d)
	}
	in.e = servertest.New(t, in.dsn)
	admin := in.e.Admin()
	in.clin, _ = in.e.Clinician(admin, "dr.backup@haven.test")
	in.officer, _ = in.e.Staff(admin, "privacy.backup@haven.test", "auditor")
	_, in.a = in.e.Patient(in.clin, patientA)
	_, in.b = in.e.Patient(in.clin, patientB)
	return in
}

func (in *installation) storageArgs() []string {
	args := []string{"--data-dir", in.e.DataDir}
	if in.dsn != "" {
		args = append(args, "--db", in.dsn)
	}
	return args
}

// haven runs the command line and returns the exit status and everything it printed.
func haven(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(context.Background(), args, &out, &out)
	return code, out.String()
}

// takeBackup runs `haven backup` against the running installation.
func (in *installation) takeBackup(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haven.backup")
	code, out := haven(t, append(append([]string{"backup"}, in.storageArgs()...), "--out", path)...)
	if code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	return path
}

// target is where a restore goes: a new data directory, with a fresh PostgreSQL schema or not.
type target struct {
	dir, dsn string
}

func newTarget(t *testing.T, d store.Dialect) target {
	tg := target{dir: filepath.Join(t.TempDir(), "restored")}
	if d == store.Postgres {
		tg.dsn = storetest.DSN(t, d)
	}
	return tg
}

func (tg target) restore(t *testing.T, archive, rootKey string) (int, string) {
	t.Helper()
	args := []string{"restore", "--in", archive, "--data-dir", tg.dir, "--root-key", rootKey}
	if tg.dsn != "" {
		args = append(args, "--db", tg.dsn)
	}
	return haven(t, args...)
}

// rows counts the rows of every table of the target; -1 if it has no database at all.
func (tg target) rows(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	if tg.dsn == "" {
		if _, err := os.Stat(filepath.Join(tg.dir, "haven.db")); err != nil {
			return -1
		}
	}
	var db *sql.DB
	var err error
	if tg.dsn != "" {
		db, err = sql.Open("pgx", tg.dsn)
	} else {
		db, err = sql.Open("sqlite", filepath.Join(tg.dir, "haven.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if tg.dsn != "" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rs.Next() {
		var n string
		rs.Scan(&n)
		names = append(names, n)
	}
	rs.Close()
	if len(names) == 0 {
		return -1
	}
	total := 0
	for _, n := range names {
		var c int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+n+`"`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		total += c
	}
	return total
}

// serve starts Haven on the restored installation and signs the source's clinician in.
func (tg target) serve(t *testing.T, src *installation) (*servertest.Env, *servertest.Client) {
	t.Helper()
	e := servertest.New(t, tg.dsn, func(c *server.Config) { c.DataDir = tg.dir })
	e.Clock.Advance(src.e.Clock.Now().Sub(e.Clock.Now()) + time.Minute)
	c := e.Client()
	c.Email, c.PW, c.Secret = src.clin.Email, src.clin.PW, src.clin.Secret
	c.Login()
	return e, c
}

// TestBackupRestoreSQLiteToPostgres backs up a running installation and restores it into
// PostgreSQL and into a new SQLite directory (and a PostgreSQL one into SQLite); the restored
// installation serves: the clinician signs in as before and reads a patient, and the audit log
// verifies.
func TestBackupRestoreSQLiteToPostgres(t *testing.T) {
	for _, c := range []struct{ from, to store.Dialect }{
		{store.SQLite, store.Postgres},
		{store.SQLite, store.SQLite},
		{store.Postgres, store.SQLite},
	} {
		t.Run(string(c.from)+"-to-"+string(c.to), func(t *testing.T) {
			src := newInstallation(t, c.from)
			archive := src.takeBackup(t)
			src.clin.Must(200, "GET", "/api/v1/patients/"+src.a, nil) // the source still serves
			tg := newTarget(t, c.to)
			code, out := tg.restore(t, archive, filepath.Join(src.e.DataDir, "root.key"))
			if code != 0 || !strings.Contains(out, "audit log verified") {
				t.Fatalf("restore: exit %d: %s", code, out)
			}
			if fi, err := os.Stat(filepath.Join(tg.dir, "root.key")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("root key not installed 0600: %v %v", fi, err)
			}
			_, clin := tg.serve(t, src)
			if code, _, body := clin.Do("GET", "/api/v1/patients/"+src.a, nil); code != 200 || !bytes.Contains(body, []byte("Octavia")) {
				t.Fatalf("restored patient reads %d %s", code, body)
			}
			code, out = haven(t, append([]string{"audit", "verify", "--data-dir", tg.dir}, dbArg(tg.dsn)...)...)
			if code != 0 {
				t.Fatalf("audit verify of the restored installation: exit %d: %s", code, out)
			}
		})
	}
}

func dbArg(dsn string) []string {
	if dsn == "" {
		return nil
	}
	return []string{"--db", dsn}
}

// TestRestoreRefusesFlippedByte: an archive with one byte changed (in the header, the middle or
// the end) is refused with a non-zero exit and nothing written.
func TestRestoreRefusesFlippedByte(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	archive := src.takeBackup(t)
	good, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{20, len(good) / 2, len(good) - 1} {
		bad := append([]byte(nil), good...)
		bad[at] ^= 0x01
		path := filepath.Join(t.TempDir(), "flipped.backup")
		os.WriteFile(path, bad, 0o600)
		for _, d := range storetest.Dialects() {
			tg := newTarget(t, d)
			code, out := tg.restore(t, path, filepath.Join(src.e.DataDir, "root.key"))
			if code == 0 || !strings.Contains(out, "does not verify") {
				t.Fatalf("byte %d flipped, %s: exit %d: %s", at, d, code, out)
			}
			if n := tg.rows(t); n != -1 {
				t.Fatalf("byte %d flipped, %s: the target was written (%d rows)", at, d, n)
			}
		}
	}
}

// TestRestoreRefusesTruncated: an archive cut short anywhere is refused, nothing written.
func TestRestoreRefusesTruncated(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	archive := src.takeBackup(t)
	good, _ := os.ReadFile(archive)
	for _, n := range []int{10, len(good) / 2, len(good) - 1} {
		path := filepath.Join(t.TempDir(), "cut.backup")
		os.WriteFile(path, good[:n], 0o600)
		for _, d := range storetest.Dialects() {
			tg := newTarget(t, d)
			code, out := tg.restore(t, path, filepath.Join(src.e.DataDir, "root.key"))
			if code == 0 || !strings.Contains(out, "does not verify") {
				t.Fatalf("cut at %d, %s: exit %d: %s", n, d, code, out)
			}
			if rows := tg.rows(t); rows != -1 {
				t.Fatalf("cut at %d, %s: the target was written (%d rows)", n, d, rows)
			}
		}
	}
}

// TestRestoreRefusesNonEmptyTarget: restoring over an installation that holds data is refused,
// and that installation is left as it was.
func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	archive := src.takeBackup(t)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			tg := newTarget(t, d)
			if code, out := tg.restore(t, archive, filepath.Join(src.e.DataDir, "root.key")); code != 0 {
				t.Fatalf("first restore: exit %d: %s", code, out)
			}
			before := tg.rows(t)
			code, out := tg.restore(t, archive, filepath.Join(src.e.DataDir, "root.key"))
			if code == 0 || !strings.Contains(out, "not empty") {
				t.Fatalf("second restore: exit %d: %s", code, out)
			}
			if after := tg.rows(t); after != before {
				t.Fatalf("refused restore changed the target: %d rows, then %d", before, after)
			}
		})
	}
}

// TestRestoreRefusesWithoutLedger: a root key with no erasure ledger beside it is refused, so
// that erased patients never come back by accident.
func TestRestoreRefusesWithoutLedger(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	archive := src.takeBackup(t)
	keyDir := t.TempDir()
	key, _ := os.ReadFile(filepath.Join(src.e.DataDir, "root.key"))
	os.WriteFile(filepath.Join(keyDir, "root.key"), key, 0o600)
	tg := newTarget(t, store.SQLite)
	code, out := tg.restore(t, archive, filepath.Join(keyDir, "root.key"))
	if code == 0 || !strings.Contains(out, governance.LedgerName) {
		t.Fatalf("exit %d: %s", code, out)
	}
	if n := tg.rows(t); n != -1 {
		t.Fatalf("target written: %d rows", n)
	}
}

// TestArchiveHoldsNoPlaintextPHI scans the archive for the patients' canary values.
func TestArchiveHoldsNoPlaintextPHI(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	src.clin.Must(201, "POST", "/api/v1/patients/"+src.a+"/notes", map[string]string{"body": "CANARY-BACKUP-NOTE suspected xanthelasma"})
	archive := src.takeBackup(t)
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []servertest.PatientIn{patientA, patientB} {
		for _, c := range []string{p.Name, strings.Fields(p.Name)[1], p.BirthDate, p.Phone, p.Email, "CANARY-BACKUP-NOTE", "xanthelasma", "dr.backup"} {
			if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(c))) {
				t.Errorf("the archive holds %q in plaintext", c)
			}
		}
	}
}

// TestErasureReachesOldBackup: a backup taken before an erasure (approved by the privacy
// officer), restored after it with the source's root key and ledger, cannot open the erased
// patient's record; the other patient's
// opens, and the audit log verifies.
func TestErasureReachesOldBackup(t *testing.T) {
	src := newInstallation(t, store.SQLite)
	archive := src.takeBackup(t)
	// The erasure as a clinic makes it: the privacy officer records the request and approves it
	// after a fresh second factor.
	req := src.officer.Must(201, "POST", "/api/v1/patients/"+src.a+"/erasure-requests", nil)["id"].(string)
	src.e.Clock.Advance(31 * time.Second)
	src.officer.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": src.officer.Code()})
	src.officer.Must(200, "POST", "/api/v1/erasure-requests/"+req+"/approval", nil)
	if code, _, _ := src.clin.Do("GET", "/api/v1/patients/"+src.a, nil); code == 200 {
		t.Fatal("the erased patient's record still opens in the live installation")
	}
	if code, out := haven(t, "audit", "verify", "--data-dir", src.e.DataDir); code != 0 {
		t.Fatalf("the live audit log after the erasure: exit %d: %s", code, out)
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			tg := newTarget(t, d)
			code, out := tg.restore(t, archive, filepath.Join(src.e.DataDir, "root.key"))
			if code != 0 || !strings.Contains(out, "1 erased") || !strings.Contains(out, "audit log verified") {
				t.Fatalf("restore: exit %d: %s", code, out)
			}
			_, clin := tg.serve(t, src)
			if code, _, body := clin.Do("GET", "/api/v1/patients/"+src.a, nil); code == 200 || bytes.Contains(body, []byte("Octavia")) {
				t.Fatalf("the erased patient's record opens from the old backup: %d %s", code, body)
			}
			if code, _, body := clin.Do("GET", "/api/v1/patients/"+src.b, nil); code != 200 || !bytes.Contains(body, []byte("Barnaby")) {
				t.Fatalf("the other patient reads %d %s", code, body)
			}
			if ids, err := governance.ErasedPatients(tg.dir); err != nil || len(ids) != 1 || ids[0] != src.a {
				t.Fatalf("the ledger did not follow the root key: %v %v", ids, err)
			}
		})
	}
}
