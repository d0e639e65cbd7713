package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"haven/internal/config"
	"haven/internal/governance/compliance"
	"haven/internal/server"
	"haven/internal/store"
)

const complianceUsage = `usage:
  haven compliance report --data-dir DIR [--db DSN] --out FILE.html [serve's flags]

The report reads the installation's configuration as haven serve does (the same flags and
HAVEN_* environment variables), so run it with the installation's own settings.
Exit status: 0 when the report is written, whatever the checks found; 1 when a check could not
be made (nothing is written); 2 on a usage error.
`

// complianceCommand runs `haven compliance report`.
func complianceCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprint(stderr, complianceUsage)
		return 2
	}
	out, rest, err := cutFlag(args[1:], "out")
	if err != nil || out == "" {
		fmt.Fprint(stderr, complianceUsage)
		return 2
	}
	cfg, err := config.ParseServe(rest, stderr, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, complianceUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 2
	}
	if !store.IsPostgresDSN(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err != nil {
			fmt.Fprintf(stderr, "haven: compliance report: no database at %s (use --data-dir or --db)\n", cfg.DB)
			return 1
		}
	}
	if err := writeComplianceReport(ctx, cfg, out, stdout); err != nil {
		fmt.Fprintln(stderr, "haven:", err)
		return 1
	}
	return 0
}

func writeComplianceReport(ctx context.Context, cfg config.Server, out string, stdout io.Writer) error {
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	facts, err := compliance.Gather(ctx, db, compliance.SettingsFrom(cfg, server.Version), time.Now())
	if err != nil {
		return err
	}
	rep := compliance.Evaluate(facts)
	doc, err := rep.HTML(cfg.AlertRules.Location)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, doc, 0o600); err != nil {
		return fmt.Errorf("compliance report: %w", err)
	}
	fmt.Fprintf(stdout, "%s; written to %s\n", rep.Summary(), out)
	return nil
}

// cutFlag takes --name VALUE (or -name, or =VALUE) out of args.
func cutFlag(args []string, name string) (string, []string, error) {
	var val string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--"+name || a == "-"+name:
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--%s needs a value", name)
			}
			val = args[i+1]
			i++
		case strings.HasPrefix(a, "--"+name+"=") || strings.HasPrefix(a, "-"+name+"="):
			_, val, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	return val, rest, nil
}
