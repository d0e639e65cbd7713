// Package turnrelay is Haven's embedded TURN relay (pion/turn, UDP and TCP on one port): it
// relays a consultation's media when the participants' browsers cannot reach each other
// directly. It accepts only the short-lived credentials the consult service issues, each good
// for one device in one visit for ten minutes (docs/e2ee.md §4), and relays what it is given:
// DTLS-SRTP and DTLS-SCTP ciphertext, which it cannot read. It keeps no record of what passes.
package turnrelay

import (
	"errors"
	"fmt"
	"haven/internal/turncred"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
)

// Realm is the TURN realm Haven's credentials are keyed for.
const Realm = "haven"

// Config configures the relay.
type Config struct {
	// Listen is the address to listen on for UDP and TCP, e.g. ":3478" (--turn-listen).
	Listen string
	// PublicIP is the relay address announced to clients (--turn-public-ip).
	PublicIP net.IP
	// Secret is shared with the consult service, which issues the credentials.
	Secret []byte
	Now    func() time.Time
	Log    *slog.Logger
}

// Relay is a running TURN server.
type Relay struct {
	srv *turn.Server
	udp net.PacketConn
	tcp net.Listener
}

// Start listens on cfg.Listen (UDP, and TCP on the same port) and serves TURN.
func Start(cfg Config) (*Relay, error) {
	udp, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("turnrelay: listen on udp %s: %w", cfg.Listen, err)
	}
	// TCP on the port UDP got, so that ":0" (tests) announces one port for both.
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("turnrelay: listen address %q: %w", cfg.Listen, err)
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("turnrelay: listen on tcp %s: %w", cfg.Listen, err)
	}
	r, err := serve(cfg, udp, tcp)
	if err != nil {
		udp.Close()
		tcp.Close()
		return nil, err
	}
	return r, nil
}

// serve runs TURN on listeners already open.
func serve(cfg Config, udp net.PacketConn, tcp net.Listener) (*Relay, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("turnrelay: the shared secret is missing or too short")
	}
	if cfg.PublicIP == nil {
		return nil, errors.New("turnrelay: no public IP to announce as the relay address")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// pion's own log lines may name usernames (visit and device ids): they are not written.
	quiet := &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}
	gen := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: cfg.PublicIP, Address: "0.0.0.0"}
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:             Realm,
		AuthHandler:       authHandler(cfg.Secret, cfg.Now),
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen()}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: gen()}},
		LoggerFactory:     quiet,
	})
	if err != nil {
		return nil, fmt.Errorf("turnrelay: start: %w", err)
	}
	log.Info("turn relay listening", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String(), "relay_ip", cfg.PublicIP.String())
	return &Relay{srv: srv, udp: udp, tcp: tcp}, nil
}

// authHandler accepts a username only while it is good and answers with the key of the
// password the secret gives it: a client that does not hold that password (a credential of
// another visit or device with its username changed) fails the message-integrity check.
func authHandler(secret []byte, now func() time.Time) turn.AuthHandler {
	return func(username, realm string, _ net.Addr) ([]byte, bool) {
		if realm != Realm {
			return nil, false
		}
		if _, _, _, err := turncred.ParseUsername(username, now()); err != nil {
			return nil, false
		}
		return turn.GenerateAuthKey(username, realm, turncred.Password(secret, username)), true
	}
}

// Port is the port the relay listens on (UDP and TCP).
func (r *Relay) Port() int { return r.udp.LocalAddr().(*net.UDPAddr).Port }

// Close stops the relay and its allocations.
func (r *Relay) Close() error { return r.srv.Close() }
