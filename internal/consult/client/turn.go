package client

import (
	"context"
	"net/url"

	"github.com/pion/webrtc/v4"
)

// TURN is the answer of GET /api/v1/visits/{id}/turn (docs/e2ee.md §4): credentials for the
// embedded relay, good for one visit and one device for TTL seconds.
type TURN struct {
	ICEServers []ICEServer `json:"iceServers"`
	TTL        int         `json:"ttl"`
}

// ICEServer is one relay's URLs and this device's credential for it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`   // "<expiry unix>:<visitId>:<deviceId>"
	Credential string   `json:"credential"` // b64(HMAC-SHA1(secret, username))
}

// TURN fetches this device's relay credentials for visit visitID.
func (c *Client) TURN(ctx context.Context, visitID, deviceID string) (TURN, error) {
	var t TURN
	err := c.do(ctx, "GET", "/api/v1/visits/"+url.PathEscape(visitID)+"/turn?device="+url.QueryEscape(deviceID), nil, 200, &t)
	return t, err
}

// WebRTC is the credentials as pion's ICE servers, for PeerConfig.ICEServers.
func (t TURN) WebRTC() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(t.ICEServers))
	for _, s := range t.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return out
}
