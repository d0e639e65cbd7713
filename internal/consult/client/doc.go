// Package client is a Go device speaking Haven's consultation protocol (docs/e2ee.md) over
// HTTPS, for tests and integrations: what a browser does with the modules in
// internal/web/static/consult, done with package e2ee and github.com/pion/webrtc/v4.
//
// A Client is one person's device. It takes an *http.Client whose cookie jar already holds the
// person's session (it never signs in: passwords and second factors stay with whoever set up
// the session) and the device's keys, which never leave it:
//
//	c, _ := client.New(client.Config{BaseURL: "https://haven.example", HTTP: signedIn})
//	keys, _ := e2ee.NewDeviceKeys(nil)
//	c.RegisterDevice(ctx, keys, "integration on host A")
//
// # Keys
//
// VisitKeys and ThreadKeys fetch the devices of a visit's participants or of a patient's
// thread and check each with e2ee.VerifyDevice against Haven's audit log: the log's origin and
// checkpoint key (GET /api/v1/audit/key) are pinned on first use (or set with Pin), and a
// device whose key is not the one its leaf records, or whose leaf is not in the signed tree, is
// listed as refused, never used. A person whose set of keys changed since this device accepted
// it is reported (Person.KeysChanged) and Send refuses until AcceptKeys, after the safety
// number (SafetyNumber) was compared again.
//
// # Messages
//
// Send seals a message for every verified device of every member (e2ee.Seal) and posts the
// envelope; Fetch and Open check and decrypt what the server returns (e2ee.Inbox), refusing a
// replayed, reordered or altered envelope. Attach and OpenAttachment encrypt files before
// upload and after download.
//
// # Calls
//
// Dial joins a visit's signalling WebSocket with the session cookie and Haven's Origin. Call
// offers a WebRTC connection to one verified device and Accept answers one; both sign their
// DTLS fingerprint with the device key and refuse a remote description whose fingerprint is
// not the signed one, whose signature is not the directory key's, whose nonce was seen or that
// was addressed to another device (ErrUnverifiedDescription): no DTLS connection is made with
// it. A Peer can carry a data channel and a generated video track; TURN fetches relay
// credentials for PeerConfig.ICEServers.
//
// The package holds no state beyond one Client: sequence numbers and accepted nonces live in
// memory, so a device that outlives its Client restores them (RestoreSeq).
package client
