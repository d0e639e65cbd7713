package config

import (
	"io"
	"time"

	"haven/internal/governance"
	"haven/internal/identity"
	"haven/internal/mail"
	"haven/internal/monitor"
	"haven/internal/visits"
)

// Server is everything needed to build a Haven server (server.New). It lives here, below the
// server package, so that reading the command line never depends on what is being configured.
// Zero values take the defaults of `haven serve`, except MetricsListen: empty disables the
// metrics listener, so a server built by a test opens no port it was not asked to.
type Server struct {
	DataDir       string // default ./haven-data
	Listen        string // HTTPS address, default :8443
	HTTPListen    string // plain-HTTP redirect address; empty disables it
	MetricsListen string // plain-HTTP address of /metrics (loopback or a monitoring network); empty disables it
	DB            string // postgres:// DSN, or empty for SQLite in DataDir
	Host          string // public host name; a public DNS name switches to ACME certificates
	ACMEEmail     string
	ACMEDirectory string // ACME directory URL; empty means Let's Encrypt
	RootKeyURI    string // KMS key URI; default the local key file DataDir/root.key
	BaseURL       string // external URL for links and redirects; derived from Host and Listen if empty
	TURNListen    string // UDP and TCP address of the embedded TURN relay (package turnrelay); empty disables it
	TURNPublicIP  string // relay address announced to clients; 127.0.0.1 if empty

	CheckpointInterval time.Duration // how often a signed audit checkpoint is published; default 5 min
	ReminderInterval   time.Duration // how often due appointment reminders are sent (with SMTP only); default 1 min
	BackupDir          string        // where scheduled backups are written
	BackupInterval     time.Duration // how often a scheduled backup is taken; 0 turns them off
	BackupKeep         int           // how many scheduled backups are kept (the newest); default 7
	WitnessDir         string        // directory that receives a copy of every checkpoint
	WitnessURL         string        // HTTPS endpoint that receives every checkpoint
	AlertWebhookURL    string        // endpoint that receives security alerts (HMAC-signed JSON)
	AlertWebhookSecret string        // HMAC key for the alert webhook
	AlertRules         monitor.Rules // detector thresholds; monitor.DefaultRules() if zero
	SMTP               mail.Sender   // e-mail (invitations, resets, sign-in notices, alerts): set Addr and From to enable; STARTTLS required
	AlertEmailTo       []string      // recipients of security alerts by e-mail
	SyslogAddr         string        // host:port of a SIEM collector (RFC 5424 over TLS)
	SyslogCA           string        // PEM file of the CA that signs the collector's certificate; system roots if empty

	// Retention (package governance): how long each record type is kept (DefaultRetention if
	// nil), and how often the purge runs (0 never).
	Retention     governance.Retention
	PurgeInterval time.Duration

	Identity identity.Config
	Visits   visits.Config    // scheduling policy; visits.DefaultConfig() for zero fields
	Now      func() time.Time // the clock; time.Now unless a test fakes it
	Stderr   io.Writer        // setup link and logs; os.Stderr by default
	// SignalPing is how often a consultation's signalling socket is pinged and re-checks its
	// session and its place in the visit; default 20 s (signal.DefaultLimits).
	SignalPing time.Duration
}
