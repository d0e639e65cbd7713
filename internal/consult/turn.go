package consult

import (
	"context"
	"net"
	"strconv"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/turncred"
)

// ICE is the answer to a TURN credential request (docs/e2ee.md section 4).
type ICE struct {
	ICEServers []ICEServer `json:"iceServers"`
	TTL        int         `json:"ttl"` // seconds
}

// ICEServer is one RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// TURNURLs are the relay's URLs for a public host (an IP address or a name) and port, over UDP
// and TCP.
func TURNURLs(host string, port int) []string {
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	return []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
}

// TURNCredentials answers a relay credential for one participant's device in one visit
// (consult.join), good for TURNTTL. With TURN off it answers no servers.
func (s *Service) TURNCredentials(ctx context.Context, by access.Subject, visitID, deviceID string, o Origin) (ICE, error) {
	v, err := s.loadVisit(ctx, visitID)
	if err != nil {
		return ICE{}, err
	}
	a := act(by, access.JoinConsult, "Visit", visitIDOrEmpty(visitID), v.patientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return ICE{}, err
	}
	if _, err := s.currentDevice(ctx, by.AccountID, deviceID); err != nil {
		return ICE{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (ICE, error) {
		if v.id == "" {
			return ICE{}, ErrNotFound
		}
		ice := ICE{ICEServers: []ICEServer{}, TTL: int(TURNTTL / time.Second)}
		if len(s.cfg.TURNSecret) == 0 || len(s.cfg.TURNURLs) == 0 {
			return ice, nil
		}
		user, pass := turncred.Credential(s.cfg.TURNSecret, s.now(), v.id, deviceID)
		ice.ICEServers = append(ice.ICEServers, ICEServer{URLs: s.cfg.TURNURLs, Username: user, Credential: pass})
		return ice, nil
	})
}

// Participant is a device admitted to a visit's call.
type Participant struct {
	AccountID string `json:"account"`
	DeviceID  string `json:"device"`
	Role      string `json:"role"`
}

// JoinVisit admits the caller's device to a visit's call (consult.join, a refusal recorded):
// the signalling socket asks it before it upgrades. The device must be the caller's and current.
func (s *Service) JoinVisit(ctx context.Context, by access.Subject, visitID, deviceID string, o Origin) (Participant, error) {
	v, err := s.loadVisit(ctx, visitID)
	if err != nil {
		return Participant{}, err
	}
	if err := s.door.Admit(ctx, act(by, access.JoinConsult, "Visit", visitIDOrEmpty(visitID), v.patientID, o)); err != nil {
		return Participant{}, err
	}
	if v.id == "" {
		return Participant{}, ErrNotFound
	}
	if _, err := s.currentDevice(ctx, by.AccountID, deviceID); err != nil {
		return Participant{}, err
	}
	return Participant{AccountID: by.AccountID, DeviceID: deviceID, Role: string(by.Role)}, nil
}
