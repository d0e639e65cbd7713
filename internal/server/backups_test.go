package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"haven/internal/governance"
	"haven/internal/governance/backup"
	"haven/internal/keys/kms/localfile"
	"haven/internal/server"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// TestScheduledBackupsKeepTheLastN: scheduled backups are written by time into --backup-dir,
// each verifies with the root key, only the newest --backup-keep stay, and each is recorded as
// a successful backup run.
func TestScheduledBackupsKeepTheLastN(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backups")
			e := servertest.New(t, dsnFor(t, d), func(c *server.Config) { c.BackupDir, c.BackupKeep = dir, 2 })
			ctx := context.Background()
			var made []string
			for range 3 {
				p, err := e.Srv.ScheduledBackup(ctx)
				if err != nil {
					t.Fatal(err)
				}
				made = append(made, filepath.Base(p))
				e.Clock.Advance(time.Hour)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, en := range entries {
				kept = append(kept, en.Name())
			}
			sort.Strings(kept)
			if len(kept) != 2 || kept[0] != made[1] || kept[1] != made[2] {
				t.Fatalf("kept %v, want the newest two of %v", kept, made)
			}
			kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(e.DataDir, "root.key")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Verify(filepath.Join(dir, kept[1]), kek); err != nil {
				t.Fatalf("a scheduled backup does not verify: %v", err)
			}
			if r, ok, err := governance.LastRun(ctx, e.Srv.DB(), governance.RunBackup, true); err != nil || !ok || !r.OK {
				t.Fatalf("no successful backup run recorded: %v %v %v", r, ok, err)
			}
		})
	}
}

// backupArchive is a backup of e's installation, as haven backup writes it.
func backupArchive(t *testing.T, e *servertest.Env) []byte {
	t.Helper()
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(e.DataDir, "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := backup.Write(context.Background(), e.Srv.DB(), kek, &buf, e.Clock.Now, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScheduledBackupFailureRaisesAlert: a backup that cannot be written raises a backup-failed
// alert and records a failed run.
func TestScheduledBackupFailureRaisesAlert(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "not-a-directory")
	os.WriteFile(blocker, []byte("x"), 0o600)
	e := servertest.New(t, "", func(c *server.Config) { c.BackupDir = filepath.Join(blocker, "backups") })
	ctx := context.Background()
	if _, err := e.Srv.ScheduledBackup(ctx); err == nil {
		t.Fatal("a backup into an impossible directory succeeded")
	}
	var n int
	if err := e.Srv.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM security_alerts WHERE kind = 'backup-failed'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("backup-failed alerts: %d (%v), want 1", n, err)
	}
	r, ok, err := governance.LastRun(ctx, e.Srv.DB(), governance.RunBackup, false)
	if err != nil || !ok || r.OK {
		t.Fatalf("last backup run %+v (%v, %v): want a failed one", r, ok, err)
	}
}
