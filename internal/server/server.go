// Package server wires Haven together: it builds every component from the configuration, mounts
// the API and the UI behind one middleware chain, and runs the HTTPS server.
//
// This is the only place that knows every component. The request pipeline is, outermost first:
// request id → the request's log line → security headers and body limit → cross-origin (CSRF)
// protection → session → metrics → router → handler → domain service (decide → audit →
// seal/open).
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/mod/sumdb/note"

	"haven/internal/access"
	"haven/internal/api"
	"haven/internal/audit"
	"haven/internal/billing"
	"haven/internal/clinical"
	"haven/internal/config"
	"haven/internal/consult"
	"haven/internal/fhir"
	"haven/internal/governance"
	"haven/internal/governance/compliance"
	"haven/internal/guard"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/mail"
	"haven/internal/monitor"
	"haven/internal/principal"
	"haven/internal/privacy"
	"haven/internal/services"
	"haven/internal/signal"
	"haven/internal/smart"
	"haven/internal/store"
	"haven/internal/turnrelay"
	"haven/internal/visits"
	"haven/internal/web"
)

// Version is set at build time (-ldflags "-X haven/internal/server.Version=…").
var Version = "dev"

// Config is everything needed to build a Haven server. It is config.Server, kept under this name
// so that callers building a server (tests, commands) read naturally; the type lives in package
// config so that config never imports server.
type Config = config.Server

// applyDefaults fills in the defaults of `haven serve` for the zero fields of c.
func applyDefaults(c *Config) {
	if c.DataDir == "" {
		c.DataDir = "haven-data"
	}
	if c.Listen == "" {
		c.Listen = ":8443"
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "haven.db")
	}
	if c.Host == "" {
		c.Host = "localhost"
	}
	if c.RootKeyURI == "" {
		c.RootKeyURI = localfile.URI(filepath.Join(c.DataDir, "root.key"))
	}
	if c.BaseURL == "" {
		c.BaseURL = "https://" + c.Host
		if _, port, err := net.SplitHostPort(c.Listen); err == nil && port != "443" {
			c.BaseURL += ":" + port
		}
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Identity.Issuer == "" {
		c.Identity = identity.DefaultConfig()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 5 * time.Minute
	}
	if c.BackupKeep == 0 {
		c.BackupKeep = 7
	}
	if c.ReminderInterval == 0 {
		c.ReminderInterval = time.Minute
	}
	if c.AlertRules.Window == 0 {
		c.AlertRules = monitor.DefaultRules()
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
}

// Server is a built Haven instance.
type Server struct {
	cfg           Config
	log           *slog.Logger
	db            *store.DB
	keys          *keys.Service
	kek           tink.AEAD // the root key, which seals scheduled backups
	audit         *audit.Log
	cps           *audit.Checkpointer
	auditKey      string // the checkpoint verifier key, published
	identity      *identity.Service
	records       *clinical.Records
	prescriptions *clinical.Prescriptions
	billing       *billing.Service
	privacy       *privacy.Service
	compliance    *compliance.Service
	visits        *visits.Service
	governance    *governance.Service
	smart         *smart.Service
	policy        *access.Policy
	door          *guard.Door
	api           *api.API
	web           *web.UI
	metrics       *monitor.Metrics
	watcher       *monitor.Watcher
	handler       http.Handler

	consult *consult.Service
	// turnSecret makes and checks TURN credentials (package turncred): made at each start, so
	// credentials die with the process; several nodes must share one (a later issue).
	turnSecret []byte
	signal     *signal.Signal   // the signalling sockets, drained on shutdown
	turn       *turnrelay.Relay // the embedded TURN relay while it runs (StartTURN)
}

// New builds every component and, while no administrator exists, prints the one-time setup
// link to cfg.Stderr.
func New(ctx context.Context, cfg Config) (*Server, error) {
	applyDefaults(&cfg)
	s := &Server{cfg: cfg, log: slog.New(slog.NewJSONHandler(cfg.Stderr, nil))}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data directory: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: restrict data directory: %w", err)
	}
	// The erasure ledger lives beside the root key (governance.LedgerName); an empty one says
	// "no one erased", which a restore needs to tell from a ledger left behind.
	if err := governance.EnsureLedger(cfg.DataDir); err != nil {
		return nil, err
	}
	var err error
	if s.db, err = store.Open(ctx, cfg.DB); err != nil {
		return nil, err
	}
	kek, err := rootKey(cfg.RootKeyURI)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	s.kek = kek
	if s.keys, err = keys.Open(ctx, s.db, kek); err != nil {
		s.db.Close()
		return nil, err
	}
	// An erasure the ledger lists is applied before anything is served (governance.ApplyLedger).
	if _, err := governance.ApplyLedger(ctx, cfg.DataDir, s.keys); err != nil {
		s.db.Close()
		return nil, err
	}
	s.audit = audit.New(s.db, cfg.Now)
	signer, vkey, err := s.keys.AuditSigner(ctx)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	s.auditKey = vkey
	// The origin names this installation's log in every checkpoint: fixed at first start.
	logOrigin, err := audit.EnsureLogOrigin(ctx, s.db)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	s.cps = audit.NewCheckpointer(s.db, signer, logOrigin, cfg.Now, witnesses(cfg)...)
	idc := cfg.Identity
	if idc.PasskeyRPID == "" && net.ParseIP(cfg.Host) == nil {
		// WebAuthn binds passkeys to a host name and to the origin people use.
		idc.PasskeyRPID, idc.PasskeyOrigin = cfg.Host, origin(cfg.BaseURL)
	}
	idc.BaseURL, idc.Log = cfg.BaseURL, s.log
	// The records component is built after identity and needs it; the closure reads it at use.
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return s.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, patient access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return s.records.ApplyConfirmedEmail(ctx, patient, o, take)
	}
	if m := s.mailer(); m != nil {
		idc.Mail = m
	}
	if idc.OIDC.Issuer != "" && idc.OIDC.RedirectURL == "" {
		idc.OIDC.RedirectURL = cfg.BaseURL + web.OIDCCallbackPath
	}
	vc := cfg.Visits
	vc.BaseURL = cfg.BaseURL
	if vc.Zone == nil {
		vc.Zone = cfg.AlertRules.Location // the organisation's time zone (--time-zone)
	}
	if vc.CareDays == 0 {
		vc.CareDays = visits.DefaultConfig().CareDays
	}
	// A clinician cares for a patient by assignment (the care team) or by appointment (from a
	// booking until the configured days after the visit); the first that holds is the reason.
	s.policy = access.New(access.Relations{clinical.CareTeam{DB: s.db}, visits.AppointmentCare{DB: s.db, CareDays: vc.CareDays, Now: cfg.Now}})
	s.door = guard.New(s.policy, s.audit, cfg.Now)
	s.metrics = monitor.NewMetrics()
	var webhook *monitor.Webhook
	if cfg.AlertWebhookURL != "" {
		webhook = &monitor.Webhook{URL: cfg.AlertWebhookURL, Secret: []byte(cfg.AlertWebhookSecret)}
	}
	if s.watcher, err = monitor.NewWatcher(ctx, s.db, cfg.AlertRules, s.metrics, webhook, s.log, cfg.Now); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.identity, err = identity.New(idc, s.db, s.keys, s.door, cfg.Now); err != nil {
		s.db.Close()
		return nil, err
	}
	s.records = clinical.New(s.db, s.keys, s.door, s.identity, s.watcher, cfg.Now)
	s.prescriptions = clinical.NewPrescriptions(s.records, s.keys, s.identity)
	// Records from before search tokens get theirs now, before any search runs.
	indexed, err := s.records.BackfillSearchTokens(ctx)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	if indexed != (clinical.Backfill{}) {
		s.log.Info("search tokens built for existing records", "indexed", indexed.Indexed, "unreadable", indexed.Unreadable)
	}
	var mailer visits.Mailer
	if m := s.mailer(); m != nil {
		mailer = m
	}
	s.billing = billing.New(s.db, s.door, s.keys, s.records, cfg.Now)
	s.visits = visits.New(s.db, s.door, s.keys, s.records, s.identity, mailer, vc, cfg.Now)
	s.smart = smart.New(s.db, s.door, smart.Config{TokenURL: cfg.BaseURL + fhir.TokenPath}, cfg.Now)
	s.privacy = privacy.New(s.db, s.door, privacy.Deps{Names: actorNames{people: s.identity, systems: s.smart}, Patients: s.records, Notes: s.keys, Staff: s.staffMembers,
		PatientAccount: s.identity.PatientAccountID, GuestNames: s.visits.GuestNames}, s.cps, cfg.Now)
	s.turnSecret = make([]byte, 32)
	if _, err := rand.Read(s.turnSecret); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("server: TURN secret: %w", err)
	}
	s.consult = consult.New(s.db, s.door, consult.Deps{Staff: s.identity, Patients: s.records, GuestNames: s.visits.GuestNames,
		Publish: s.cps.Publish, Origin: logOrigin.Name}, consult.Config{TURNSecret: s.turnSecret, TURNURLs: turnURLs(cfg)}, cfg.Now)
	s.compliance = compliance.NewService(s.db, s.door, compliance.SettingsFrom(cfg, Version), cfg.Now)
	s.governance = governance.New(s.db, s.door, governance.Deps{Keys: s.keys, Accounts: s.identity, DataDir: cfg.DataDir, Retention: cfg.Retention}, cfg.Now)
	if cfg.SMTP.Addr != "" && len(cfg.AlertEmailTo) > 0 {
		s.watcher.MailTo(&monitor.Mailer{Sender: s.mailer(), To: cfg.AlertEmailTo})
	}
	if v, err := note.NewVerifier(vkey); err == nil {
		s.watcher.VerifyCheckpointsWith(v, logOrigin)
	}
	if cfg.SyslogAddr != "" {
		fwd, err := newSyslog(ctx, s.db, cfg)
		if err != nil {
			s.db.Close()
			return nil, err
		}
		s.watcher.ForwardTo(fwd)
	}
	s.handler = s.buildHandler()

	if err := s.announceSetup(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// buildHandler mounts the API, the UI and the operational endpoints behind the pipeline.
func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	svc := services.Services{Log: s.log, Identity: s.identity, Records: s.records, Prescriptions: s.prescriptions, Privacy: s.privacy, Visits: s.visits, Billing: s.billing, Compliance: s.compliance, Governance: s.governance, SMART: s.smart, Consult: s.consult, Admit: s.admit,
		AuditKey: s.auditKey, BaseURL: s.cfg.BaseURL, Version: Version, Zone: s.cfg.AlertRules.Location}
	s.api = api.New(svc)
	s.api.Mount(mux)
	s.web = web.New(svc)
	s.web.Mount(mux)
	fhir.New(svc).Mount(mux)
	// The signalling socket is more specific than the API's catch-all under /api/v1/.
	s.signal = signal.New(svc, signal.JoinFunc(func(ctx context.Context, by principal.Subject, visitID, deviceID string, o principal.Origin) (signal.Peer, error) {
		p, err := s.consult.JoinVisit(ctx, by, visitID, deviceID, o)
		return signal.Peer{Account: p.AccountID, Device: p.DeviceID, Role: p.Role}, err
	}))
	if s.cfg.SignalPing > 0 {
		l := signal.DefaultLimits
		l.Ping = s.cfg.SignalPing
		s.signal.SetLimits(l)
	}
	s.signal.Mount(mux)
	s.consult.SetNotifier(s.signal)
	// A visit that ends ends its call at once; a session or an invitation that ends does at
	// the socket's next re-check.
	s.visits.OnEnd(func(visitID string) { s.signal.CloseVisit(visitID, signal.ByeVisitEnded) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.ready)
	// No /metrics here: it has a listener of its own (MetricsHandler), off the public port.
	return s.chain(mux)
}

// staffMembers lists the staff, and the connected systems, for the privacy officer's filter by
// person.
func (s *Server) staffMembers(ctx context.Context) ([]privacy.Person, error) {
	as, err := s.identity.StaffMembers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]privacy.Person, len(as))
	for i, a := range as {
		out[i] = privacy.Person{AccountID: a.ID, Name: a.Name, Role: string(a.Role)}
	}
	return connectedSystems(ctx, s.smart, out)
}

// admit is services.Services.Admit: the door's check before a transport reads a body. An
// action name the policy does not know is refused (and recorded) like any other.
func (s *Server) admit(ctx context.Context, by principal.Subject, action, patientID string, o principal.Origin) error {
	return s.door.Admit(ctx, guard.Act{By: by, Action: access.Action(action),
		Resource: access.Resource{PatientID: patientID}, Origin: o})
}

// MetricsHandler serves /metrics, and nothing else, for the metrics listener (--metrics-listen).
// It is never mounted on the public port: the security-alert counters would let a prober watch
// whether its probing raised an alert.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	return mux
}

// witnesses builds the configured checkpoint witnesses.
func witnesses(cfg Config) []audit.Witness {
	var ws []audit.Witness
	if cfg.WitnessDir != "" {
		ws = append(ws, audit.DirWitness{Dir: cfg.WitnessDir})
	}
	if cfg.WitnessURL != "" {
		ws = append(ws, audit.HTTPWitness{URL: cfg.WitnessURL})
	}
	return ws
}

// newSyslog connects the SIEM forwarder, trusting cfg.SyslogCA (or the system roots).
func newSyslog(ctx context.Context, db *store.DB, cfg Config) (*monitor.Syslog, error) {
	host, _, err := net.SplitHostPort(cfg.SyslogAddr)
	if err != nil {
		return nil, fmt.Errorf("server: syslog address %q: %w", cfg.SyslogAddr, err)
	}
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.SyslogCA != "" {
		pem, err := os.ReadFile(cfg.SyslogCA)
		if err != nil {
			return nil, fmt.Errorf("server: syslog CA: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server: syslog CA %s holds no certificate", cfg.SyslogCA)
		}
	}
	return monitor.NewSyslog(ctx, db, cfg.SyslogAddr, conf, cfg.Host)
}

// PollMonitor runs the security detectors over the entries appended since the last poll.
func (s *Server) PollMonitor(ctx context.Context) ([]monitor.Alert, error) {
	return s.watcher.Poll(ctx)
}

// PublishCheckpoint signs and publishes the current audit tree head now.
func (s *Server) PublishCheckpoint(ctx context.Context) (audit.Checkpoint, error) {
	return s.cps.Publish(ctx)
}

// SendReminders sends the appointment reminders due now (Run does it every ReminderInterval
// when e-mail is configured); tests call it after moving the clock.
func (s *Server) SendReminders(ctx context.Context) (int, error) {
	return s.visits.SendReminders(ctx)
}

// rootKey fetches the key-encryption key from the KMS named by uri.
func rootKey(uri string) (tink.AEAD, error) {
	c := localfile.Client{}
	if !c.Supported(uri) {
		return nil, fmt.Errorf("server: no KMS client for root key URI scheme %q", strings.SplitN(uri, "://", 2)[0])
	}
	return c.GetAEAD(uri)
}

// chain wraps the router in the request pipeline.
func (s *Server) chain(mux http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.JSONError(w, r, httpx.Errorf(http.StatusForbidden, "cross-origin request refused"))
	}))
	h := s.metrics.Instrument(httpx.NoteRoute(mux))
	h = httpx.WithSession(s.identity, s.log, h)
	h = httpx.WithDevice(h)
	h = cop.Handler(h)
	h = httpx.SecureHeaders(h)
	h = httpx.LogRequests(s.log, h)
	return httpx.WithRequestID(h)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// announceSetup prints a fresh one-time setup link while no administrator exists.
func (s *Server) announceSetup(ctx context.Context) error {
	pending, err := s.identity.SetupPending(ctx)
	if err != nil || !pending {
		return err
	}
	token, err := s.identity.IssueSetupToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.cfg.Stderr, "\nHaven is not set up yet. Open this one-time link to create the first administrator (valid %s):\n\n    %s/setup?token=%s\n\n",
		s.cfg.Identity.SetupLifetime, s.cfg.BaseURL, token)
	return nil
}

// Handler is the whole application as an http.Handler (tests serve it with httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// APIRoutes is the API's route table (the route-walk test iterates it).
func (s *Server) APIRoutes() []api.Route { return s.api.Routes() }

// WebRoutes lists the browser UI's routes as net/http patterns, for tests that walk them.
func (s *Server) WebRoutes() []string { return s.web.Patterns() }

// Identity is the identity component, for commands and tests.
func (s *Server) Identity() *identity.Service { return s.identity }

// DB exposes the database, for commands and tests.
func (s *Server) DB() *store.DB { return s.db }

// Keys is the key service, for tests that seal a record as the service would (a tampered
// prescription re-sealed under its patient's key).
func (s *Server) Keys() *keys.Service { return s.keys }

// DoorEntries is how many audit entries the one door has written: tests compare it with the
// log's size to prove nothing appended around the door.
func (s *Server) DoorEntries() int64 { return s.door.Written() }

// EndLiveStreams ends every live stream (a waiting room's, a visit's, a call's signalling
// socket) and refuses new ones, as shutting down does: they never go idle, so a graceful
// shutdown ends them first.
func (s *Server) EndLiveStreams() {
	s.visits.CloseLive()
	// Each signalling socket is told bye and closed with StatusGoingAway; clients reconnect.
	s.signal.Drain()
}

// WaitBackground waits for background work (self-service reset e-mails) to finish.
func (s *Server) WaitBackground() { s.identity.Wait() }

// Close waits for background e-mail and releases the database.
func (s *Server) Close() error {
	s.EndLiveStreams()
	s.StopTURN()
	s.WaitBackground()
	return s.db.Close()
}

// origin is the scheme, host and port of a URL.
func origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// mailer is the configured SMTP sender, or nil when e-mail is off.
func (s *Server) mailer() *mail.Sender {
	if s.cfg.SMTP.Addr == "" {
		return nil
	}
	m := s.cfg.SMTP
	if m.Now == nil {
		m.Now = s.cfg.Now
	}
	return &m
}

// Purge deletes the records past their retention period now (Run does it every
// PurgeInterval when set); tests call it after moving the clock.
func (s *Server) Purge(ctx context.Context) (governance.PurgeResult, error) {
	return s.governance.Purge(ctx)
}

// turnURLs are the relay URLs the consult service hands out: none while the relay is off.
func turnURLs(cfg Config) []string {
	if cfg.TURNListen == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(cfg.TURNListen)
	if err != nil {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 {
		return nil
	}
	return consult.TURNURLs(turnPublicIP(cfg).String(), n)
}

// turnPublicIP is the relay address announced (--turn-public-ip), loopback if unset.
func turnPublicIP(cfg Config) net.IP {
	if ip := net.ParseIP(cfg.TURNPublicIP); ip != nil {
		return ip
	}
	return net.IPv4(127, 0, 0, 1)
}

// StartTURN starts the embedded TURN relay on cfg.TURNListen (Run does when it is set), with
// the secret the consult service makes its credentials with.
func (s *Server) StartTURN() error {
	if s.turn != nil {
		return nil
	}
	r, err := turnrelay.Start(turnrelay.Config{Listen: s.cfg.TURNListen, PublicIP: turnPublicIP(s.cfg), Secret: s.turnSecret, Now: s.cfg.Now, Log: s.log})
	if err != nil {
		return err
	}
	s.turn = r
	return nil
}

// StopTURN stops the relay, if it runs.
func (s *Server) StopTURN() error {
	if s.turn == nil {
		return nil
	}
	err := s.turn.Close()
	s.turn = nil
	return err
}
