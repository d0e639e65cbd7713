package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/acme"

	"haven/internal/monitor"
	"haven/internal/tlscert"
)

// Timeouts bound how long a slow or idle client can hold a connection.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 20 * time.Second
	monitorInterval   = 5 * time.Second
)

// Run serves HTTPS, the plain-HTTP redirect and the metrics listener (each when configured)
// until ctx is cancelled, then shuts down gracefully, letting requests in flight finish.
func (s *Server) Run(ctx context.Context) error {
	tlsConf, httpHandler, err := s.tlsConfig()
	if err != nil {
		return err
	}
	type listener struct {
		srv *http.Server
		ln  net.Listener
	}
	var ls []listener
	closeAll := func() {
		for _, l := range ls {
			l.ln.Close()
		}
	}
	listen := func(addr string, h http.Handler, conf *tls.Config) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("server: listen on %s: %w", addr, err)
		}
		ls = append(ls, listener{ln: ln, srv: &http.Server{
			Addr: addr, Handler: h, TLSConfig: conf,
			ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}})
		return nil
	}
	if err := listen(s.cfg.Listen, s.handler, tlsConf); err != nil {
		return err
	}
	if s.cfg.HTTPListen != "" {
		if err := listen(s.cfg.HTTPListen, httpHandler, nil); err != nil {
			return err
		}
	}
	if s.cfg.MetricsListen != "" {
		// Plain HTTP: the metrics listener is for the monitoring system, on loopback by default,
		// never the public port (the alert counters would tell a prober whether it was noticed).
		if err := listen(s.cfg.MetricsListen, s.MetricsHandler(), nil); err != nil {
			return err
		}
	}
	// The TURN relay for consultation video, when asked for (--turn-listen).
	if s.cfg.TURNListen != "" {
		if err := s.StartTURN(); err != nil {
			closeAll()
			return err
		}
	}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		if l.srv.TLSConfig != nil {
			go func() { errc <- l.srv.ServeTLS(l.ln, "", "") }()
		} else {
			go func() { errc <- l.srv.Serve(l.ln) }()
		}
	}
	attrs := []any{"https", ls[0].ln.Addr().String(), "url", s.cfg.BaseURL, "version", Version}
	if s.cfg.MetricsListen != "" {
		attrs = append(attrs, "metrics", "http://"+ls[len(ls)-1].ln.Addr().String()+"/metrics")
	}
	s.log.Info("haven serving", attrs...)
	cpCtx, stopCheckpoints := context.WithCancel(context.Background())
	defer stopCheckpoints()
	cpDone := make(chan struct{})
	go func() {
		defer close(cpDone)
		s.cps.Run(cpCtx, s.cfg.CheckpointInterval, func(err error) {
			s.log.Error("audit checkpoint", "error", err.Error())
			// A checkpoint that cannot be signed, stored or witnessed is a security event.
			s.watcher.Raise(context.WithoutCancel(cpCtx), monitor.Alert{Kind: monitor.AuditIntegrity, Severity: "high",
				Subject: "checkpoint", Detail: "publishing an audit checkpoint failed", Time: s.cfg.Now().UTC()})
		})
	}()
	go s.watcher.Run(cpCtx, monitorInterval)
	// Reminders go out only by e-mail: without SMTP there is nothing to run.
	remindCtx, stopReminders := context.WithCancel(context.Background())
	defer stopReminders()
	remindDone := make(chan struct{})
	go func() {
		defer close(remindDone)
		if s.cfg.SMTP.Addr != "" {
			s.runReminders(remindCtx, s.cfg.ReminderInterval)
		}
	}()

	backupCtx, stopBackups := context.WithCancel(context.Background())
	defer stopBackups()
	backupDone := make(chan struct{})
	go func() {
		defer close(backupDone)
		if s.cfg.BackupInterval > 0 {
			s.runBackups(backupCtx, s.cfg.BackupInterval)
		}
	}()
	// The retention purge runs only when --purge-interval is set.
	purgeCtx, stopPurge := context.WithCancel(context.Background())
	defer stopPurge()
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		if s.cfg.PurgeInterval > 0 {
			s.runPurge(purgeCtx, s.cfg.PurgeInterval)
		}
	}()

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("server: %w", err)
		}
	case <-ctx.Done():
	}
	s.log.Info("haven shutting down")
	// Live streams (the waiting room's, a visit's) never go idle: they end first, so that
	// Shutdown does not wait its grace out for them.
	s.EndLiveStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.srv.Shutdown(shutdownCtx))
	}
	errs = append(errs, s.StopTURN())
	// A reminder being sent finishes (its claim, e-mail and entry) before the last checkpoint.
	stopReminders()
	<-remindDone
	stopBackups()
	<-backupDone
	stopPurge()
	<-purgeDone
	// Requests have finished: the final checkpoint covers every entry they wrote.
	stopCheckpoints()
	<-cpDone
	return errors.Join(errs...)
}

// tlsConfig chooses the certificate source: ACME for a public host name, otherwise a
// self-signed certificate kept in the data directory. It also returns the plain-HTTP handler,
// which answers ACME http-01 challenges when ACME is on and otherwise only redirects.
func (s *Server) tlsConfig() (*tls.Config, http.Handler, error) {
	redirect := redirectToHTTPS(s.cfg.BaseURL)
	if tlscert.IsPublicHost(s.cfg.Host) {
		m := tlscert.ACMEManager(s.cfg.DataDir, s.cfg.Host, s.cfg.ACMEEmail, s.cfg.ACMEDirectory, nil)
		conf := tlscert.ServerTLSConfig(m.GetCertificate)
		conf.NextProtos = append(conf.NextProtos, acme.ALPNProto) // tls-alpn-01 challenges
		return conf, m.HTTPHandler(redirect), nil
	}
	cert, err := tlscert.SelfSigned(s.cfg.DataDir, []string{s.cfg.Host}, s.cfg.Now)
	if err != nil {
		return nil, nil, err
	}
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
	return tlscert.ServerTLSConfig(get), redirect, nil
}

// redirectToHTTPS sends every plain-HTTP request to the same path and query under the origin
// of baseURL (--base-url). The target never comes from the request: a forged Host header (or an
// absolute request URI) cannot turn Haven into a redirector to another site.
func redirectToHTTPS(baseURL string) http.Handler {
	target := origin(baseURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target+path, http.StatusPermanentRedirect)
	})
}
