package turnrelay

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"haven/internal/turncred"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/turn/v4"
)

// sniffer watches every byte the relay receives and sends, for a canary in clear.
type sniffer struct {
	mu     sync.Mutex
	canary []byte
	seen   bool
	bytes  int
}

func (s *sniffer) look(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += len(b)
	if len(s.canary) > 0 && bytes.Contains(b, s.canary) {
		s.seen = true
	}
}

type sniffPacketConn struct {
	net.PacketConn
	s *sniffer
}

func (c sniffPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	c.s.look(b[:n])
	return n, a, err
}

func (c sniffPacketConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.s.look(b)
	return c.PacketConn.WriteTo(b, a)
}

type sniffListener struct {
	net.Listener
	s *sniffer
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return sniffConn{Conn: c, s: l.s}, nil
}

type sniffConn struct {
	net.Conn
	s *sniffer
}

func (c sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.s.look(b[:n])
	return n, err
}

func (c sniffConn) Write(b []byte) (int, error) {
	c.s.look(b)
	return c.Conn.Write(b)
}

type testRelay struct {
	*Relay
	secret []byte
	sniff  *sniffer
}

// startRelay runs the relay on loopback, every byte watched.
func startRelay(t *testing.T) *testRelay {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", udp.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	s := &sniffer{}
	r, err := serve(Config{PublicIP: net.IPv4(127, 0, 0, 1), Secret: secret}, sniffPacketConn{udp, s}, sniffListener{tcp, s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &testRelay{Relay: r, secret: secret, sniff: s}
}

func (r *testRelay) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.Port()) }

// allocate asks the relay for an allocation over UDP or TCP with username and password.
func (r *testRelay) allocate(t *testing.T, network, username, password string) error {
	t.Helper()
	var conn net.PacketConn
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		c, err := net.Dial("tcp4", r.addr())
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	}
	defer conn.Close()
	client, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: r.addr(), TURNServerAddr: r.addr(), Conn: conn,
		Username: username, Password: password, Realm: Realm, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	relayed, err := client.Allocate()
	if err != nil {
		return err
	}
	relayed.Close()
	return nil
}

// TestConsultTURNCredential: the relay allocates only for a credential the server issued, before
// its expiry, for the visit and device it names.
func TestConsultTURNCredential(t *testing.T) {
	r := startRelay(t)
	now := time.Now()
	good, goodPass := turncred.Credential(r.secret, now, "visit-1", "dev-a")
	expired := turncred.Username(now.Add(-time.Second), "visit-1", "dev-a")
	// Another visit's credential: the username changed to name this visit, the HMAC kept.
	_, otherPass := turncred.Credential(r.secret, now, "visit-2", "dev-a")
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			name, user, pass string
			ok               bool
		}{
			{"valid", good, goodPass, true},
			{"expired", expired, turncred.Password(r.secret, expired), false},
			{"another visit's HMAC", good, otherPass, false},
			{"tampered visit id", turncred.Username(now.Add(turncred.TTL), "visit-2", "dev-a"), goodPass, false},
			{"other secret", good, turncred.Password([]byte("not the server's secret at all"), good), false},
			{"malformed", "visit-1", turncred.Password(r.secret, "visit-1"), false},
			{"too far ahead", turncred.Username(now.Add(48*time.Hour), "visit-1", "dev-a"), turncred.Password(r.secret, turncred.Username(now.Add(48*time.Hour), "visit-1", "dev-a")), false},
		} {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				err := r.allocate(t, network, tc.user, tc.pass)
				if (err == nil) != tc.ok {
					t.Fatalf("allocate = %v; want ok %v", err, tc.ok)
				}
			})
		}
	}
}
