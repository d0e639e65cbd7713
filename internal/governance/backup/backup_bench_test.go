package backup

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

// BenchmarkBackupVsFileCopy (docs/benchmarks.md, Backup): a full backup of a SQLite
// installation of 5,000 patients (snapshot with VACUUM INTO, every table dumped, encrypted,
// fsynced) against a plain copy of the database file (read, write, fsync), alternating in the
// same run. Reports MB/s of each (by the database file's size) and backup/copy.
//
//	go test -run '^$' -bench BenchmarkBackupVsFileCopy -benchtime 5x ./internal/governance/backup/
func BenchmarkBackupVsFileCopy(b *testing.B) {
	kek := rootKey(b)
	db := storetest.Open(b, store.SQLite)
	populated(b, db, kek, 5000)
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(db.Path)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(fi.Size())
	dir := b.TempDir()
	var backupTime, copyTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		f, err := os.Create(filepath.Join(dir, "b.backup"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Write(b.Context(), db, kek, f, time.Now, nil); err != nil {
			b.Fatal(err)
		}
		f.Sync()
		f.Close()
		backupTime += time.Since(start)

		start = time.Now()
		src, err := os.Open(db.Path)
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(dir, "copy.db"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			b.Fatal(err)
		}
		dst.Sync()
		dst.Close()
		src.Close()
		copyTime += time.Since(start)
	}
	n := float64(b.N)
	backupMBs := size * n / backupTime.Seconds() / 1e6
	copyMBs := size * n / copyTime.Seconds() / 1e6
	b.ReportMetric(size/1e6, "db-MB")
	b.ReportMetric(backupMBs, "backup-MB/s")
	b.ReportMetric(copyMBs, "copy-MB/s")
	b.ReportMetric(backupMBs/copyMBs, "backup/copy")
}
