package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

// Run serves HTTPS (and the plain-HTTP redirect) until ctx is cancelled, then shuts down
// gracefully, letting requests in flight finish.
func (s *Server) Run(ctx context.Context) error {
	tlsConf, httpHandler, err := s.tlsConfig()
	if err != nil {
		return err
	}
	httpsSrv := &http.Server{
		Addr: s.cfg.Listen, Handler: s.handler, TLSConfig: tlsConf,
		ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Listen, err)
	}
	servers := []*http.Server{httpsSrv}
	errc := make(chan error, 2)
	go func() { errc <- httpsSrv.ServeTLS(ln, "", "") }()
	if s.cfg.HTTPListen != "" {
		redirect := &http.Server{
			Addr: s.cfg.HTTPListen, Handler: httpHandler,
			ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		}
		rln, err := net.Listen("tcp", s.cfg.HTTPListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: listen on %s: %w", s.cfg.HTTPListen, err)
		}
		servers = append(servers, redirect)
		go func() { errc <- redirect.Serve(rln) }()
	}
	s.log.Info("haven serving", "https", ln.Addr().String(), "url", s.cfg.BaseURL, "version", Version)
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

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("server: %w", err)
		}
	case <-ctx.Done():
	}
	s.log.Info("haven shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(shutdownCtx))
	}
	// Requests have finished: the final checkpoint covers every entry they wrote.
	stopCheckpoints()
	<-cpDone
	return errors.Join(errs...)
}

// tlsConfig chooses the certificate source: ACME for a public host name, otherwise a
// self-signed certificate kept in the data directory. It also returns the plain-HTTP handler,
// which answers ACME http-01 challenges when ACME is on and otherwise only redirects.
func (s *Server) tlsConfig() (*tls.Config, http.Handler, error) {
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		target := "https://" + host
		if _, port, err := net.SplitHostPort(s.cfg.Listen); err == nil && port != "443" {
			target += ":" + port
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
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
