// Package config reads Haven's command-line flags, each of which can also be set by an
// environment variable HAVEN_<FLAG> (upper case, dashes as underscores). Flags win over the
// environment. It validates once, at start; nothing else reads the environment.
package config

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"haven/internal/governance"
	"haven/internal/identity"
	"haven/internal/identity/oidc"
	"haven/internal/monitor"
	"haven/internal/store"
	"haven/internal/visits"
)

// Storage holds the flags that locate the database.
type Storage struct {
	DataDir string
	DB      string
}

// Define adds the storage flags to fs.
func (s *Storage) Define(fs *flag.FlagSet, lookup func(string) (string, bool)) {
	stringFlag(fs, &s.DataDir, "data-dir", "haven-data", "directory for the SQLite database, root key and certificates", lookup)
	dsnFlag(fs, &s.DB, "db", "postgres:// DSN; empty uses SQLite at <data-dir>/haven.db", lookup)
}

// DSN is the database to open.
func (s Storage) DSN() string {
	if s.DB != "" {
		return s.DB
	}
	return strings.TrimRight(s.DataDir, "/") + "/haven.db"
}

// ParseServe reads the flags of `haven serve`.
func ParseServe(args []string, out io.Writer, lookup func(string) (string, bool)) (Server, error) {
	fs := FlagSet("serve", out)
	var st Storage
	st.Define(fs, lookup)
	var c Server
	stringFlag(fs, &c.Listen, "listen", ":8443", "HTTPS listen address", lookup)
	stringFlag(fs, &c.HTTPListen, "http-listen", ":8080", "plain-HTTP address that only redirects to HTTPS (at --base-url); empty disables it", lookup)
	stringFlag(fs, &c.MetricsListen, "metrics-listen", "127.0.0.1:9090", "plain-HTTP address that serves /metrics, for the monitoring system only (loopback by default); empty disables it", lookup)
	stringFlag(fs, &c.TURNListen, "turn-listen", "", "UDP and TCP address of the embedded TURN relay for consultation video, such as :3478; empty disables it", lookup)
	stringFlag(fs, &c.TURNPublicIP, "turn-public-ip", "", "the relay address announced to browsers: this machine's public IP address (default 127.0.0.1, reachable only from this machine)", lookup)
	stringFlag(fs, &c.Host, "host", "localhost", "host name users reach Haven at; a public DNS name switches to ACME certificates", lookup)
	stringFlag(fs, &c.ACMEEmail, "acme-email", "", "contact e-mail for the ACME account", lookup)
	stringFlag(fs, &c.ACMEDirectory, "acme-directory", "", "ACME directory URL (default Let's Encrypt)", lookup)
	stringFlag(fs, &c.BaseURL, "base-url", "", "external URL for links (default https://<host>:<port>)", lookup)
	stringFlag(fs, &c.WitnessDir, "audit-witness-dir", "", "directory (ideally another disk or machine) that receives a copy of every signed audit checkpoint", lookup)
	stringFlag(fs, &c.WitnessURL, "audit-witness-url", "", "HTTPS endpoint that receives every signed audit checkpoint (POST, text/plain)", lookup)
	stringFlag(fs, &c.AlertWebhookURL, "alert-webhook-url", "", "endpoint that receives security alerts as HMAC-signed JSON", lookup)
	secretFlag(fs, &c.AlertWebhookSecret, "alert-webhook-secret", "HMAC-SHA256 key for the alert webhook (prefer the environment variable)", lookup)
	var mailTo string
	stringFlag(fs, &c.SMTP.Addr, "smtp-addr", "", "host:port of the SMTP submission server for invitations, reset links, sign-in notices and alerts (STARTTLS required)", lookup)
	stringFlag(fs, &c.SMTP.Username, "smtp-user", "", "SMTP user name", lookup)
	secretFlag(fs, &c.SMTP.Password, "smtp-password", "SMTP password (prefer the environment variable)", lookup)
	stringFlag(fs, &c.SMTP.From, "mail-from", "", "sender address of Haven's e-mail", lookup)
	stringFlag(fs, &mailTo, "alert-email-to", "", "comma-separated recipients of security alerts by e-mail", lookup)
	stringFlag(fs, &c.SyslogAddr, "siem-syslog-addr", "", "host:port of a SIEM collector that receives every audit entry (RFC 5424 over TLS)", lookup)
	stringFlag(fs, &c.SyslogCA, "siem-ca", "", "PEM file of the CA that signs the SIEM collector's certificate (default: system roots)", lookup)
	var workHours, zone string
	stringFlag(fs, &workHours, "work-hours", "07-20", "working hours (HH-HH); PHI access outside them raises an after-hours alert", lookup)
	stringFlag(fs, &zone, "time-zone", "UTC", "the organisation's time zone for working hours (IANA name)", lookup)
	c.Identity = identity.DefaultConfig()
	boolFlag(fs, &c.Identity.RequireWorkforcePasskey, "require-staff-passkey", false, "staff must sign in with a passkey (phishing resistant); TOTP and recovery codes are refused for staff", lookup)
	boolFlag(fs, &c.Identity.RequirePatientMFA, "require-patient-mfa", false, "patients must enrol a second factor too (otherwise a password of 15+ characters may stand alone)", lookup)
	oc := &c.Identity.OIDC
	var secretFile, mfaACR string
	stringFlag(fs, &oc.Issuer, "oidc-issuer", "", "issuer URL of the organisation's OpenID Connect provider; enables staff sign-in through it", lookup)
	stringFlag(fs, &oc.ClientID, "oidc-client-id", "", "Haven's client ID at the OpenID Connect provider", lookup)
	secretFlag(fs, &oc.ClientSecret, "oidc-client-secret", "Haven's client secret at the OpenID Connect provider (prefer the environment variable or --oidc-client-secret-file)", lookup)
	stringFlag(fs, &secretFile, "oidc-client-secret-file", "", "file holding the OpenID Connect client secret", lookup)
	stringFlag(fs, &oc.Name, "oidc-name", "your organisation account", "the provider's name on the sign-in button (\"Sign in with …\")", lookup)
	stringFlag(fs, &mfaACR, "oidc-mfa-acr", "", "comma-separated acr values by which the provider asserts multi-factor authentication (amr \"mfa\" always counts)", lookup)
	var interval string
	stringFlag(fs, &interval, "checkpoint-interval", "5m", "how often a signed audit checkpoint is published", lookup)
	var reminders, backupEvery string
	stringFlag(fs, &c.BackupDir, "backup-dir", "", "directory (ideally another disk or machine) that receives the scheduled encrypted backups", lookup)
	stringFlag(fs, &backupEvery, "backup-interval", "0", "how often a scheduled backup is written to --backup-dir, such as 24h; 0 turns scheduled backups off", lookup)
	intFlag(fs, &c.BackupKeep, "backup-keep", 7, "how many scheduled backups to keep (the newest)", lookup)
	stringFlag(fs, &reminders, "reminder-interval", "1m", "how often Haven looks for appointment reminders to e-mail (a day and an hour before; needs --smtp-addr)", lookup)
	var purge, retention string
	stringFlag(fs, &purge, "purge-interval", "0", "how often Haven deletes records past their retention period (such as 24h); 0 never purges", lookup)
	stringFlag(fs, &retention, "retention", "", "retention periods over the defaults, such as \"documents=10y,charges=7y\" (types: appointments, charges, documents, notes, prescriptions, record_items; y years, d days)", lookup)
	vd := visits.DefaultConfig()
	var careDays int
	var cutoff, horizon string
	intFlag(fs, &careDays, "appointment-care-days", vd.CareDays, "days after a visit during which the booked clinician keeps access to the patient's record (the appointment relationship)", lookup)
	boolFlag(fs, &c.Visits.OpenBooking, "open-booking", false, "patients may book any clinician who accepts new patients, not only those caring for them", lookup)
	stringFlag(fs, &cutoff, "cancel-cutoff", "2h", "how long before an appointment a patient can no longer cancel or move it online", lookup)
	stringFlag(fs, &horizon, "booking-horizon", "2160h", "how far ahead a patient may book", lookup)
	if err := fs.Parse(args); err != nil {
		return Server{}, err
	}
	d, err := time.ParseDuration(interval)
	if err != nil || d < time.Second {
		return Server{}, fmt.Errorf("serve: --checkpoint-interval %q is not a duration of at least 1s", interval)
	}
	c.CheckpointInterval = d
	if c.ReminderInterval, err = time.ParseDuration(reminders); err != nil || c.ReminderInterval < time.Second || c.ReminderInterval > time.Hour {
		return Server{}, fmt.Errorf("serve: --reminder-interval %q is not a duration between 1s and 1h, such as 1m", reminders)
	}
	if c.BackupInterval, err = time.ParseDuration(backupEvery); err != nil || c.BackupInterval < 0 || (c.BackupInterval > 0 && c.BackupInterval < time.Minute) {
		return Server{}, fmt.Errorf("serve: --backup-interval %q is not 0 or a duration of at least 1m, such as 24h", backupEvery)
	}
	if c.BackupInterval > 0 && c.BackupDir == "" {
		return Server{}, fmt.Errorf("serve: --backup-interval needs --backup-dir, the directory the backups go to")
	}
	if c.BackupKeep < 1 {
		return Server{}, fmt.Errorf("serve: --backup-keep %d must be at least 1", c.BackupKeep)
	}
	if c.PurgeInterval, err = time.ParseDuration(purge); err != nil || (c.PurgeInterval != 0 && c.PurgeInterval < time.Minute) {
		return Server{}, fmt.Errorf("serve: --purge-interval %q is not 0 or a duration of at least 1m, such as 24h", purge)
	}
	if c.Retention, err = governance.ParseRetention(retention); err != nil {
		return Server{}, fmt.Errorf("serve: --retention: %w", err)
	}
	if careDays < 0 || careDays > 3650 {
		return Server{}, fmt.Errorf("serve: --appointment-care-days %d is not between 0 and 3650", careDays)
	}
	c.Visits.CareDays = careDays
	if c.Visits.CancelCutoff, err = time.ParseDuration(cutoff); err != nil || c.Visits.CancelCutoff < 0 {
		return Server{}, fmt.Errorf("serve: --cancel-cutoff %q is not a duration such as 2h", cutoff)
	}
	if c.Visits.Horizon, err = time.ParseDuration(horizon); err != nil || c.Visits.Horizon < time.Hour {
		return Server{}, fmt.Errorf("serve: --booking-horizon %q is not a duration of at least 1h, such as 2160h", horizon)
	}
	c.AlertRules = monitor.DefaultRules()
	if _, err := fmt.Sscanf(workHours, "%d-%d", &c.AlertRules.WorkStart, &c.AlertRules.WorkEnd); err != nil ||
		c.AlertRules.WorkStart < 0 || c.AlertRules.WorkEnd > 24 || c.AlertRules.WorkStart >= c.AlertRules.WorkEnd {
		return Server{}, fmt.Errorf("serve: --work-hours %q is not HH-HH with start before end", workHours)
	}
	if c.AlertRules.Location, err = time.LoadLocation(zone); err != nil {
		return Server{}, fmt.Errorf("serve: --time-zone %q: %w", zone, err)
	}
	for _, to := range strings.Split(mailTo, ",") {
		if to = strings.TrimSpace(to); to != "" {
			c.AlertEmailTo = append(c.AlertEmailTo, to)
		}
	}
	if c.SMTP.Addr != "" && c.SMTP.From == "" {
		return Server{}, fmt.Errorf("serve: --smtp-addr needs --mail-from")
	}
	if len(c.AlertEmailTo) > 0 && c.SMTP.Addr == "" {
		return Server{}, fmt.Errorf("serve: --alert-email-to needs --smtp-addr")
	}
	if c.AlertWebhookURL != "" && (!strings.HasPrefix(c.AlertWebhookURL, "https://") || len(c.AlertWebhookSecret) < 16) {
		return Server{}, fmt.Errorf("serve: --alert-webhook-url must be https:// and needs an --alert-webhook-secret of at least 16 characters")
	}
	if c.BaseURL != "" {
		// Links and the plain-HTTP redirect are built from it: it must name an HTTPS origin.
		if u, err := url.Parse(c.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return Server{}, fmt.Errorf("serve: --base-url must be an https:// URL with a host name")
		}
	}
	if c.WitnessURL != "" && !strings.HasPrefix(c.WitnessURL, "https://") {
		return Server{}, fmt.Errorf("serve: --audit-witness-url must be an https:// URL")
	}
	if err := parseOIDC(oc, secretFile, mfaACR); err != nil {
		return Server{}, err
	}
	if fs.NArg() > 0 {
		return Server{}, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	c.DataDir = st.DataDir
	c.DB = st.DSN()
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return Server{}, fmt.Errorf("serve: --listen %q is not host:port", c.Listen)
	}
	for _, l := range []struct{ flag, addr string }{{"http-listen", c.HTTPListen}, {"metrics-listen", c.MetricsListen}} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			return Server{}, fmt.Errorf("serve: --%s %q is not host:port", l.flag, l.addr)
		}
	}
	if c.TURNListen != "" {
		if _, _, err := net.SplitHostPort(c.TURNListen); err != nil {
			return Server{}, fmt.Errorf("serve: --turn-listen %q is not host:port, such as :3478", c.TURNListen)
		}
	}
	if c.TURNPublicIP != "" {
		if c.TURNListen == "" {
			return Server{}, fmt.Errorf("serve: --turn-public-ip needs --turn-listen, the address the relay listens on")
		}
		if ip := net.ParseIP(c.TURNPublicIP); ip == nil || ip.IsUnspecified() {
			return Server{}, fmt.Errorf("serve: --turn-public-ip %q is not an IP address browsers can reach, such as 203.0.113.7", c.TURNPublicIP)
		}
	}
	if st.DB != "" && !store.IsPostgresDSN(st.DB) {
		return Server{}, fmt.Errorf("serve: --db must be a postgres:// DSN (SQLite lives in --data-dir)")
	}
	return c, nil
}

// parseOIDC completes and checks the OpenID Connect settings: the secret from its file, the acr
// list. The redirect URL is the server's to derive from --base-url.
func parseOIDC(oc *oidc.Config, secretFile, mfaACR string) error {
	if secretFile != "" {
		if oc.ClientSecret != "" {
			return fmt.Errorf("serve: give the OpenID Connect client secret once: --oidc-client-secret or --oidc-client-secret-file")
		}
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return fmt.Errorf("serve: --oidc-client-secret-file: %w", err)
		}
		oc.ClientSecret = strings.TrimSpace(string(b))
	}
	for _, v := range strings.Split(mfaACR, ",") {
		if v = strings.TrimSpace(v); v != "" {
			oc.MFAACR = append(oc.MFAACR, v)
		}
	}
	if oc.Issuer == "" {
		if oc.ClientID != "" || oc.ClientSecret != "" || len(oc.MFAACR) > 0 {
			return fmt.Errorf("serve: the --oidc-* settings need --oidc-issuer")
		}
		return nil
	}
	if strings.TrimSpace(oc.Name) == "" || len(oc.Name) > 60 {
		return fmt.Errorf("serve: --oidc-name must be 1 to 60 characters")
	}
	// The redirect URL is not known yet; check the rest with a placeholder.
	probe := *oc
	probe.RedirectURL = "https://haven.invalid/"
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("serve: %w (--oidc-issuer, --oidc-client-id, --oidc-client-secret)", err)
	}
	return nil
}

// ParseAuditVerify reads the flags of `haven audit verify`: the storage flags and --key, the
// checkpoint verifier key to trust (by default the one the data directory's root key unwraps).
func ParseAuditVerify(args []string, out io.Writer, lookup func(string) (string, bool)) (Storage, string, error) {
	fs := FlagSet("audit verify", out)
	var st Storage
	st.Define(fs, lookup)
	var key string
	fs.StringVar(&key, "key", "", "audit checkpoint verifier key (note format) to check signatures against")
	if err := fs.Parse(args); err != nil {
		return Storage{}, "", err
	}
	if fs.NArg() > 0 {
		return Storage{}, "", fmt.Errorf("audit verify: unexpected argument %q", fs.Arg(0))
	}
	if st.DB != "" && !store.IsPostgresDSN(st.DB) {
		return Storage{}, "", fmt.Errorf("audit verify: --db must be a postgres:// DSN")
	}
	if st.DB == "" {
		if _, err := os.Stat(st.DSN()); err != nil {
			return Storage{}, "", fmt.Errorf("audit verify: no database at %s (use --data-dir or --db)", st.DSN())
		}
	}
	return st, key, nil
}

// ParseStorage reads the flags of commands that only need the database (migrate, audit verify).
// With mustExist, a SQLite database that is not there is an error rather than created empty.
func ParseStorage(name string, args []string, out io.Writer, lookup func(string) (string, bool), mustExist bool) (Storage, error) {
	fs := FlagSet(name, out)
	var st Storage
	st.Define(fs, lookup)
	if err := fs.Parse(args); err != nil {
		return Storage{}, err
	}
	if fs.NArg() > 0 {
		return Storage{}, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	if st.DB != "" && !store.IsPostgresDSN(st.DB) {
		return Storage{}, fmt.Errorf("%s: --db must be a postgres:// DSN", name)
	}
	if st.DB == "" && mustExist {
		if _, err := os.Stat(st.DSN()); err != nil {
			return Storage{}, fmt.Errorf("%s: no database at %s (use --data-dir or --db)", name, st.DSN())
		}
	}
	return st, nil
}
