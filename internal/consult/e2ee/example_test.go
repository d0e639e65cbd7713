package e2ee_test

import (
	"encoding/json"
	"fmt"
	"time"

	"haven/internal/consult/e2ee"
)

// A clinician's device seals a message for the patient's device; the patient's device parses
// the stored envelope and opens it with the clinician device's directory key. The same envelope
// opened again is a replay.
func Example() {
	clinKeys, _ := e2ee.NewDeviceKeys(nil)
	patKeys, _ := e2ee.NewDeviceKeys(nil)
	clin := clinKeys.Public("dev-clin", "acct-clin")
	pat := patKeys.Public("dev-pat", "acct-pat")

	msg, _ := e2ee.Message{Text: "Your results are in."}.Marshal()
	env, err := e2ee.Seal(nil, e2ee.Sender{Account: clin.Account, Device: clin.ID, Keys: clinKeys},
		"patient.p1", 1, time.Now(), msg, []e2ee.Device{pat, clin})
	if err != nil {
		panic(err)
	}
	wire, _ := json.Marshal(env) // what the server stores

	stored, err := e2ee.ParseEnvelope(wire)
	if err != nil {
		panic(err)
	}
	var inbox e2ee.Inbox
	plain, err := inbox.Open(stored, pat, patKeys, clin.SignKey, "patient.p1")
	if err != nil {
		panic(err)
	}
	m, _ := e2ee.ParseMessage(plain)
	fmt.Println(m.Text)
	_, err = inbox.Open(stored, pat, patKeys, clin.SignKey, "patient.p1")
	fmt.Println(err)
	// Output:
	// Your results are in.
	// e2ee: replayed or out of order
}
