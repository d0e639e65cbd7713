package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"haven/internal/config"
	"haven/internal/governance"
	"haven/internal/keys"
	"haven/internal/store"
)

const keysUsage = `usage:
  haven keys rotate [--data-dir DIR] [--db DSN]
                                add a root key version, rewrap every key under it, retire the old one
`

// keysCommand runs `haven keys …`. Exit status: 0 success, 1 the rotation did not complete, 2
// usage error.
func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	st, err := config.ParseStorage("keys rotate", args[1:], stderr, os.LookupEnv, true)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	if err := keysRotate(ctx, st, stdout); err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		fmt.Fprintln(stderr, "The rotation is saved as far as it got: run the same command again to finish it. Haven keeps serving meanwhile.")
		return 1
	}
	return 0
}

// keysRotate rotates the data directory's root key while Haven may be serving, and records the
// run for the compliance report.
func keysRotate(ctx context.Context, st config.Storage, stdout io.Writer) error {
	keyFile := filepath.Join(st.DataDir, "root.key")
	if _, err := os.Stat(keyFile); err != nil {
		return fmt.Errorf("keys rotate: no root key at %s (use --data-dir)", keyFile)
	}
	db, err := store.Open(ctx, st.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	runID, err := governance.StartRun(ctx, db, governance.RunRotation, start)
	if err != nil {
		return err
	}
	bar := newProgress(stdout, "Rewrapping keys")
	bar.unit = "keys"
	rep, err := keys.Rotate(ctx, db, keyFile, keys.RotateOptions{Progress: func(done, total int) { bar.update(int64(done), int64(total)) }})
	bar.finish()
	detail := fmt.Sprintf("version %d; %d of %d keys rewrapped; %d old versions retired", rep.Version, rep.Rewrapped, rep.Total, len(rep.Retired))
	// The run is recorded even if the context was cancelled.
	if ferr := governance.FinishRun(context.WithoutCancel(ctx), db, runID, time.Now(), err == nil && rep.Complete, detail); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	verb := "Started"
	if rep.Resumed {
		verb = "Resumed"
	}
	fmt.Fprintf(stdout, "%s the rotation to root key version %d.\n", verb, rep.Version)
	fmt.Fprintf(stdout, "Rewrapped %d keys (patient and system keys) in %s.\n", rep.Rewrapped, time.Since(start).Round(time.Millisecond))
	if len(rep.Retired) > 0 {
		if len(rep.Retired) == 1 {
			fmt.Fprintln(stdout, "Retired the old root key version: nothing was wrapped under it any more.")
		} else {
			fmt.Fprintf(stdout, "Retired %d old root key versions: nothing was wrapped under them any more.\n", len(rep.Retired))
		}
	}
	fmt.Fprintln(stdout, "Every key is under the new version. Back up root.key now: older backups need the old one, which is no longer in it.")
	return nil
}
