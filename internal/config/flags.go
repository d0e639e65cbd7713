package config

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"haven/internal/store"
)

// Flag help prints each flag's default, and defaults come from the environment, so help text
// could show a secret to whoever looks at the terminal (or a log that captured it). Secrets are
// therefore flags of their own types whose String never returns the value: a secret shows only
// "(set)", a DSN shows with its password replaced. Help is printed by printDefaults, never by
// flag.PrintDefaults, and it also hides a password written into any URL.

// envName is the environment variable for a flag.
func envName(flagName string) string {
	return "HAVEN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// FlagSet returns a flag set for a command whose defaults come from the environment. Its help
// (-h, or any flag it does not know) shows no secret.
func FlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage of haven %s:\n", name)
		printDefaults(fs)
	}
	return fs
}

// stringFlag defines a string flag whose default is the environment variable, if set.
func stringFlag(fs *flag.FlagSet, p *string, name, def, usage string, lookup func(string) (string, bool)) {
	if v, ok := lookup(envName(name)); ok {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
}

// secretFlag is stringFlag for a secret: its value is never printed.
func secretFlag(fs *flag.FlagSet, p *string, name, usage string, lookup func(string) (string, bool)) {
	*p, _ = lookup(envName(name))
	fs.Var(&secretValue{p}, name, usage+" (env "+envName(name)+")")
}

// dsnFlag is stringFlag for a database DSN: its password is never printed.
func dsnFlag(fs *flag.FlagSet, p *string, name, usage string, lookup func(string) (string, bool)) {
	*p, _ = lookup(envName(name))
	fs.Var(&dsnValue{p}, name, usage+" (env "+envName(name)+")")
}

// boolFlag is stringFlag for a switch: the environment variable holds true or false.
func boolFlag(fs *flag.FlagSet, p *bool, name string, def bool, usage string, lookup func(string) (string, bool)) {
	if v, ok := lookup(envName(name)); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		}
	}
	fs.BoolVar(p, name, def, usage+" (env "+envName(name)+")")
}

// intFlag is stringFlag for a whole number: the environment variable holds it in decimal.
func intFlag(fs *flag.FlagSet, p *int, name string, def int, usage string, lookup func(string) (string, bool)) {
	if v, ok := lookup(envName(name)); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	fs.IntVar(p, name, def, usage+" (env "+envName(name)+")")
}

// secretValue is a string flag that says whether it is set, never what it is.
type secretValue struct{ p *string }

func (s *secretValue) Set(v string) error { *s.p = v; return nil }
func (s *secretValue) String() string {
	if s == nil || s.p == nil || *s.p == "" {
		return ""
	}
	return "(set)"
}

// dsnValue is a string flag holding a DSN; it prints with its passwords redacted.
type dsnValue struct{ p *string }

func (d *dsnValue) Set(v string) error { *d.p = v; return nil }
func (d *dsnValue) String() string {
	if d == nil || d.p == nil {
		return ""
	}
	return store.RedactDSN(*d.p)
}

// printDefaults prints fs's flags as flag.PrintDefaults does, with secrets hidden.
func printDefaults(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		name, usage := flag.UnquoteUsage(f)
		switch f.Value.(type) {
		case *secretValue, *dsnValue:
			name = "string"
		}
		fmt.Fprintf(&b, "  -%s", f.Name)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.Value.(type) {
		case *secretValue:
			if f.DefValue != "" {
				b.WriteString(" (set)")
			}
		default:
			if def := f.DefValue; def != "" && def != "false" && def != "0" {
				fmt.Fprintf(&b, " (default %q)", redactURL(def))
			}
		}
		fmt.Fprintln(fs.Output(), b.String())
	})
}

// redactURL hides a password written into a URL (https://user:password@host/…).
func redactURL(s string) string {
	if store.IsPostgresDSN(s) {
		return store.RedactDSN(s)
	}
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "(a URL that cannot be shown)"
		}
		return s
	}
	return u.Redacted()
}
