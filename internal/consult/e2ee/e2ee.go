// Package e2ee is the cryptography of Haven's consultations, as docs/e2ee.md defines it: device
// keys (Ed25519 signing, X25519 agreement), their fingerprints, safety numbers, message
// envelopes sealed for every recipient device and signed by the sender's, the signed DTLS
// fingerprint of a video call's descriptions, and the check of a device key's leaf in the audit
// log (inclusion proof and signed checkpoint).
//
// The browser's modules (internal/web/static/consult/) implement the same with WebCrypto; both
// are checked against testdata/vectors.json. Everything here runs on the devices: the server
// never calls Open, never holds a private key, and stores envelopes as they came.
//
// Only standard primitives: the Go standard library (ed25519, ecdh X25519, AES-GCM, hkdf,
// SHA-256/512) and golang.org/x/mod/sumdb (tlog, note); nothing hand-rolled.
package e2ee
