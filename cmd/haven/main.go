// Command haven is Haven's single binary: `haven serve` runs the platform, the other commands
// maintain it. It only parses the command line and calls into internal packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	_ "time/tzdata" // --time-zone works on machines without a zoneinfo database

	"golang.org/x/mod/sumdb/note"

	"haven/internal/audit"
	"haven/internal/config"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/server"
	"haven/internal/store"
)

const usage = `Haven: secure self-hostable telemedicine.

Usage:
  haven serve [flags]           run the platform (HTTPS on :8443, SQLite in ./haven-data)
  haven migrate [flags]         apply database migrations and exit
  haven audit verify [flags]    verify the audit log (run while the server is stopped)
  haven audit prove --entry N   print the inclusion proof of entry N against the latest checkpoint
  haven audit consistency --from SIZE
                                print the proof that the log only grew since a checkpoint of SIZE
  haven audit export --out DIR  write entries and checkpoints for a verifier with no database
  haven audit verify --export DIR --key VKEY
                                verify an export with no database
  haven keys rotate             rotate the root key while Haven serves (resumable)
  haven backup --out FILE       write an encrypted archive of the installation (while it serves)
  haven restore --in FILE --root-key FILE
                                restore an archive into a new installation (SQLite or PostgreSQL)
  haven compliance report --out FILE.html
                                write the compliance report (HIPAA §164.312 checks) as HTML
  haven version                 print the version

Run "haven COMMAND -h" for a command's flags.
`

func main() {
	// Files Haven creates are for its own user only.
	syscall.Umask(0o077)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], stdout, stderr)
	case "backup":
		err = backupCommand(ctx, args[1:], stdout, stderr)
	case "restore":
		err = restoreCommand(ctx, args[1:], stdout, stderr)
	case "compliance":
		return complianceCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "haven", server.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "haven: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := config.ParseServe(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	cfg.Stderr = stderr
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	st, err := config.ParseStorage("migrate", args, stderr, os.LookupEnv, false)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, st.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d\n", v)
	return nil
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	st, vkey, err := config.ParseAuditVerify(args, stderr, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	db, err := store.Open(ctx, st.DSN())
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	defer db.Close()
	verifier, source, err := checkpointVerifier(ctx, db, st.DataDir, vkey)
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	rep, err := audit.Verify(ctx, db, verifier)
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	printOrigin(stdout, rep.Origin)
	if !rep.OK() {
		fmt.Fprintf(stdout, "audit log FAILED verification at entry %d of %d: %s\n", rep.FirstBad, rep.Entries, rep.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "audit log verified: %d entries, hash chain, Merkle tree and head intact; %d signed checkpoints (%s)\n",
		rep.Entries, rep.Checkpoints, source)
	if uncovered := rep.Entries - rep.Covered; uncovered > 0 {
		fmt.Fprintf(stdout, "%d entries after the latest checkpoint are not yet covered by a signature\n", uncovered)
	}
	return 0
}

// printOrigin names the log that the checkpoints were checked as: an auditor compares it with
// the origin they hold (the first line of any checkpoint they received from this installation).
func printOrigin(w io.Writer, origin string) {
	if origin == "" {
		origin = "none yet (fixed when the server first starts; checkpoints signed before carry the legacy one)"
	}
	fmt.Fprintf(w, "checkpoint origin: %s\n", origin)
}

// checkpointVerifier chooses the key that checkpoint signatures are checked against: the one
// given with --key (an anchor held outside this machine), else the one the data directory's
// root key unwraps from the database.
func checkpointVerifier(ctx context.Context, db *store.DB, dataDir, vkey string) (note.Verifier, string, error) {
	source := "signatures checked against --key"
	if vkey == "" {
		var err error
		if vkey, err = dataDirVerifierKey(ctx, db, dataDir); err != nil {
			return nil, "", err
		}
		if vkey == "" {
			return nil, "signatures not checked: no --key, and no root key or checkpoint key in the data directory", nil
		}
		source = "signatures checked against the key in the database"
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("verifier key: %w", err)
	}
	return v, source, nil
}

// dataDirVerifierKey unwraps the checkpoint verifier key with the data directory's root key; ""
// if there is no root key file or no checkpoint has been signed.
func dataDirVerifierKey(ctx context.Context, db *store.DB, dataDir string) (string, error) {
	rootKey := filepath.Join(dataDir, "root.key")
	if _, err := os.Stat(rootKey); err != nil {
		return "", nil
	}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(rootKey))
	if err != nil {
		return "", err
	}
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		return "", err
	}
	vkey, err := ks.AuditVerifierKey(ctx)
	if errors.Is(err, keys.ErrNoAuditKey) {
		return "", nil
	}
	return vkey, err
}
