package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"haven/internal/governance"
	"haven/internal/governance/backup"
	"haven/internal/monitor"
)

// Scheduled backups are named by the time they were taken, so that names sort by age.
const (
	backupPrefix = "haven-"
	backupSuffix = ".backup"
)

// runBackups writes a backup to the backup directory every interval (the first after one
// interval) until ctx ends.
func (s *Server) runBackups(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.ScheduledBackup(ctx)
	}
}

// ScheduledBackup writes one archive and prunes the oldest beyond the ones to keep. A failure is
// logged, recorded as a failed backup run and raised as an alert: a clinic must know when it has
// no recent backup.
func (s *Server) ScheduledBackup(ctx context.Context) (string, error) {
	path, err := s.writeBackup(ctx)
	if err == nil {
		err = pruneBackups(s.cfg.BackupDir, s.cfg.BackupKeep)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("scheduled backup", "error", err.Error())
		if rerr := s.watcher.Raise(context.WithoutCancel(ctx), monitor.Alert{Kind: monitor.BackupFailed, Severity: "high",
			Subject: "backup", Detail: "a scheduled backup could not be written", Time: s.cfg.Now().UTC()}); rerr != nil {
			s.log.Error("scheduled backup alert", "error", rerr.Error())
		}
		return "", err
	}
	s.log.Info("scheduled backup", "file", filepath.Base(path))
	return path, nil
}

func (s *Server) writeBackup(ctx context.Context) (string, error) {
	name := backupPrefix + s.cfg.Now().UTC().Format("20060102T150405Z") + backupSuffix
	path := filepath.Join(s.cfg.BackupDir, name)
	fail := func(err error) (string, error) {
		// Write records its own failures; this records the ones around it.
		if id, rerr := governance.StartRun(ctx, s.db, governance.RunBackup, s.cfg.Now()); rerr == nil {
			governance.FinishRun(ctx, s.db, id, s.cfg.Now(), false, "failed: the backup file could not be written")
		}
		return "", err
	}
	if err := os.MkdirAll(s.cfg.BackupDir, 0o700); err != nil {
		return fail(fmt.Errorf("server: backup directory: %w", err))
	}
	partial := path + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fail(fmt.Errorf("server: create backup: %w", err))
	}
	_, werr := backup.Write(ctx, s.db, s.kek, f, s.cfg.Now, nil)
	err = werr
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, path)
	}
	if err != nil {
		os.Remove(partial)
		if werr == nil {
			return fail(fmt.Errorf("server: finish backup: %w", err))
		}
		return "", fmt.Errorf("server: scheduled backup: %w", err)
	}
	return path, nil
}

// pruneBackups removes the oldest scheduled backups in dir beyond keep.
func pruneBackups(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("server: list backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupSuffix) && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return fmt.Errorf("server: remove an old backup: %w", err)
		}
		names = names[1:]
	}
	return nil
}
