// Package consult is the server side of Haven's end-to-end encrypted consultations (the
// protocol is docs/e2ee.md): the key directory, whose every change is a leaf of the audit
// Merkle log; threads of encrypted messages and attachments, stored and relayed as they came;
// who may join a visit's call; and short-lived credentials for the embedded TURN relay.
//
// It never holds a private key, a content key or a message in clear: it checks what it can
// without keys (who sends, to which thread, sizes, sequence numbers) and passes every act
// through the one door (package guard).
package consult
