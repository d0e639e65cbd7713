package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/config"
	"haven/internal/store"
)

const auditUsage = `usage:
  haven audit verify [--data-dir DIR | --db DSN] [--key VKEY]
  haven audit verify --export DIR --key VKEY
  haven audit prove --entry N [--data-dir DIR | --db DSN]
  haven audit consistency --from SIZE [--data-dir DIR | --db DSN]
  haven audit export --out DIR [--data-dir DIR | --db DSN]
`

// auditCommand runs `haven audit …`. Exit status: 0 success, 1 verification failed, 2 usage or
// operational error.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "verify":
		for _, a := range args[1:] {
			if a == "--export" || a == "-export" {
				return verifyExport(args[1:], stdout, stderr)
			}
		}
		return auditVerify(ctx, args[1:], stdout, stderr)
	case "prove":
		err = auditProve(ctx, args[1:], stdout, stderr)
	case "consistency":
		err = auditConsistency(ctx, args[1:], stdout, stderr)
	case "export":
		err = auditExport(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	return 0
}

// openAuditDB parses the storage flags plus extra ones and opens an existing database.
func openAuditDB(ctx context.Context, name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*store.DB, config.Storage, error) {
	fs := config.FlagSet(name, stderr)
	var st config.Storage
	st.Define(fs, os.LookupEnv)
	extra(fs)
	if err := fs.Parse(args); err != nil {
		return nil, st, err
	}
	if st.DB == "" {
		if _, err := os.Stat(st.DSN()); err != nil {
			return nil, st, fmt.Errorf("%s: no database at %s (use --data-dir or --db)", name, st.DSN())
		}
	}
	db, err := store.Open(ctx, st.DSN())
	return db, st, err
}

func printHashes(w io.Writer, hs []tlog.Hash) {
	for _, h := range hs {
		fmt.Fprintln(w, base64.StdEncoding.EncodeToString(h[:]))
	}
}

// latestCheckpoint opens the database named by the flags and reads its latest checkpoint.
func latestCheckpoint(ctx context.Context, name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*store.DB, audit.Checkpoint, error) {
	db, _, err := openAuditDB(ctx, name, args, stderr, extra)
	if err != nil {
		return nil, audit.Checkpoint{}, err
	}
	cp, err := audit.Latest(ctx, db)
	if err != nil {
		db.Close()
		return nil, audit.Checkpoint{}, err
	}
	return db, cp, nil
}

// auditProve prints the latest checkpoint, the entry's leaf hash and its inclusion proof: with
// the verifier key, anyone can check that the entry is in the signed log.
func auditProve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var seq int64
	db, cp, err := latestCheckpoint(ctx, "audit prove", args, stderr, func(fs *flag.FlagSet) {
		fs.Int64Var(&seq, "entry", 0, "index of the entry to prove (1-based)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if cp.Size < seq || seq < 1 {
		return fmt.Errorf("audit prove: entry %d is not covered by the latest checkpoint (size %d)", seq, cp.Size)
	}
	e, err := audit.EntryAt(ctx, db, seq)
	if err != nil {
		return err
	}
	proof, err := audit.ProveEntry(ctx, db, seq, cp.Size)
	if err != nil {
		return err
	}
	leaf := audit.LeafHash(e)
	fmt.Fprintf(stdout, "entry %d\nleaf %s\n\n%s\ninclusion proof (%d hashes)\n", seq, base64.StdEncoding.EncodeToString(leaf[:]), cp.Signed, len(proof))
	printHashes(stdout, proof)
	return nil
}

// auditConsistency prints the proof that the tree of size --from is a prefix of the latest
// checkpoint's tree.
func auditConsistency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var from int64
	db, cp, err := latestCheckpoint(ctx, "audit consistency", args, stderr, func(fs *flag.FlagSet) {
		fs.Int64Var(&from, "from", 0, "size of the older checkpoint")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	proof, err := audit.ProveGrowth(ctx, db, from, cp.Size)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "consistency from size %d to size %d\n\n%s\nproof (%d hashes)\n", from, cp.Size, cp.Signed, len(proof))
	printHashes(stdout, proof)
	return nil
}

func auditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out string
	db, st, err := openAuditDB(ctx, "audit export", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "directory to create for the export")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if out == "" {
		return errors.New("audit export: --out is required")
	}
	vkey, err := dataDirVerifierKey(ctx, db, st.DataDir)
	if err != nil {
		return err
	}
	n, err := audit.Export(ctx, db, out, vkey)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d entries to %s\n", n, out)
	return nil
}

func verifyExport(args []string, stdout, stderr io.Writer) int {
	fs := config.FlagSet("audit verify --export", stderr)
	dir := fs.String("export", "", "export directory written by haven audit export")
	key := fs.String("key", "", "checkpoint verifier key (note format), from a source you trust")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	v, err := note.NewVerifier(*key)
	if err != nil {
		fmt.Fprintln(stderr, "haven: --key:", err)
		return 2
	}
	rep, err := audit.VerifyExport(*dir, v)
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	printOrigin(stdout, rep.Origin)
	if !rep.OK() {
		fmt.Fprintf(stdout, "export FAILED verification at entry %d of %d: %s\n", rep.FirstBad, rep.Entries, rep.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "export verified: %d entries, %d signed checkpoints, %d entries covered\n", rep.Entries, rep.Checkpoints, rep.Covered)
	return 0
}
