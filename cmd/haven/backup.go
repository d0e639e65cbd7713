package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/config"
	"haven/internal/governance"
	"haven/internal/governance/backup"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
)

// existingRootKey opens the root key file at path, refusing to create one: a backup or restore
// under a key made on the spot could never be opened.
func existingRootKey(path string) (tink.AEAD, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no root key at %s: give the installation's root.key", path)
	}
	return localfile.Client{}.GetAEAD(localfile.URI(path))
}

// backupCommand runs `haven backup --data-dir DIR [--db DSN] --out FILE`.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := config.FlagSet("backup", stderr)
	var st config.Storage
	st.Define(fs, os.LookupEnv)
	out := fs.String("out", "", "archive file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: --out is required")
	}
	if st.DB == "" {
		if _, err := os.Stat(st.DSN()); err != nil {
			return fmt.Errorf("backup: no database at %s (use --data-dir or --db)", st.DSN())
		}
	}
	kek, err := existingRootKey(filepath.Join(st.DataDir, "root.key"))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := store.Open(ctx, st.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: create archive: %w", err)
	}
	bar := newProgress(stderr, "backing up")
	sum, err := backup.Write(ctx, db, kek, f, time.Now, bar.update)
	bar.finish()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d tables, %d rows, %s, in %s (schema version %d, from %s)\n",
		*out, len(sum.Manifest.Tables), sum.Manifest.Rows(), sizeOf(sum.Bytes), sum.Elapsed.Round(time.Millisecond), sum.Manifest.SchemaVersion, sum.Manifest.Dialect)
	fmt.Fprintln(stdout, "keep the root key (root.key) and the erasure ledger (erasures.log) safe and apart from the archive: a restore needs both")
	return nil
}

// restoreCommand runs `haven restore --in FILE --data-dir DIR [--db DSN] --root-key FILE`.
// Exit status: 0 restored and the audit log verifies, 1 otherwise; nothing is written when the
// archive does not verify.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := config.FlagSet("restore", stderr)
	var st config.Storage
	st.Define(fs, os.LookupEnv)
	in := fs.String("in", "", "archive written by haven backup")
	rootKey := fs.String("root-key", "", "the source installation's root.key (its erasures.log must be beside it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *rootKey == "" {
		return errors.New("restore: --in and --root-key are required")
	}
	kek, err := existingRootKey(*rootKey)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	keyDir := filepath.Dir(*rootKey)
	erased, err := governance.ErasedPatients(keyDir)
	if err != nil {
		return fmt.Errorf("restore: the erasure ledger %s must be beside the root key (%s): without it, erased patients would come back: %w",
			governance.LedgerName, keyDir, err)
	}
	m, err := backup.Verify(*in, kek)
	if err != nil {
		return fmt.Errorf("restore: nothing written: %w", err)
	}
	fmt.Fprintf(stdout, "archive verified: %d tables, %d rows, schema version %d, from %s, made %s\n",
		len(m.Tables), m.Rows(), m.SchemaVersion, m.Dialect, m.Created.Format(time.RFC3339))
	keyBytes, err := os.ReadFile(*rootKey)
	if err != nil {
		return fmt.Errorf("restore: read root key: %w", err)
	}
	target := filepath.Join(st.DataDir, "root.key")
	if old, err := os.ReadFile(target); err == nil && !bytes.Equal(old, keyBytes) {
		return fmt.Errorf("restore: nothing written: %s already holds another root key; restore into a new data directory", target)
	}
	if err := os.MkdirAll(st.DataDir, 0o700); err != nil {
		return fmt.Errorf("restore: create data directory: %w", err)
	}
	db, err := store.Open(ctx, st.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgress(stderr, "restoring")
	res, err := backup.Restore(ctx, db, kek, *in, m, erased, time.Now, bar.update)
	bar.finish()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := installKeyFiles(st.DataDir, keyDir, target, keyBytes); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d tables, %d rows (%s) in %s; %d erased patients' keysets destroyed from the ledger\n",
		len(res.Manifest.Tables), res.Manifest.Rows(), sizeOf(res.Bytes), res.Elapsed.Round(time.Millisecond), res.Erased)
	printOrigin(stdout, res.Audit.Origin)
	if !res.Audit.OK() {
		fmt.Fprintf(stdout, "audit log FAILED verification at entry %d of %d: %s\n", res.Audit.FirstBad, res.Audit.Entries, res.Audit.Problem)
		return errAuditFailed
	}
	fmt.Fprintf(stdout, "audit log verified: %d entries, %d signed checkpoints\n", res.Audit.Entries, res.Audit.Checkpoints)
	fmt.Fprintf(stdout, "serve it with: haven serve --data-dir %s%s\n", st.DataDir, map[bool]string{true: " --db <the same DSN>", false: ""}[st.DB != ""])
	return nil
}

var errAuditFailed = errors.New("restore: the restored audit log does not verify")

// installKeyFiles puts the root key in the data directory (0600) and carries the erasure ledger
// with it, so that the restored installation keeps applying past erasures.
func installKeyFiles(dataDir, keyDir, target string, keyBytes []byte) error {
	if err := os.WriteFile(target, keyBytes, 0o600); err != nil {
		return fmt.Errorf("restore: install root key: %w", err)
	}
	if err := os.Chmod(target, 0o600); err != nil {
		return fmt.Errorf("restore: restrict root key: %w", err)
	}
	src, dst := filepath.Join(keyDir, governance.LedgerName), filepath.Join(dataDir, governance.LedgerName)
	if sameFile(src, dst) {
		return nil
	}
	ledger, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("restore: read erasure ledger: %w", err)
	}
	have, _ := os.ReadFile(dst)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("restore: install erasure ledger: %w", err)
	}
	for _, line := range strings.SplitAfter(string(ledger), "\n") {
		if line != "" && !strings.Contains(string(have), line) {
			if _, err := f.WriteString(line); err != nil {
				f.Close()
				return fmt.Errorf("restore: install erasure ledger: %w", err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("restore: install erasure ledger: %w", err)
	}
	return f.Close()
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// sizeOf writes a byte count for people.
func sizeOf(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// progress draws a bar on a terminal and prints a line every tenth of the way otherwise.
type progress struct {
	w     io.Writer
	label string
	unit  string // what is counted: "rows" unless set
	tty   bool
	last  int // last percentage shown
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, label: label, unit: "rows", last: -1}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int64) {
	pct := 100
	if total > 0 {
		pct = int(done * 100 / total)
	}
	if p.tty {
		if pct == p.last {
			return
		}
		const width = 30
		fill := pct * width / 100
		fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %d/%d %s", p.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, done, total, p.unit)
		p.last, p.drawn = pct, true
		return
	}
	if pct/10 == p.last/10 && p.last >= 0 {
		return
	}
	fmt.Fprintf(p.w, "%s: %d%% (%d of %d %s)\n", p.label, pct, done, total, p.unit)
	p.last = pct
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
