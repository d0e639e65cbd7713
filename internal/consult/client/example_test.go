package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"

	"haven/internal/consult/client"
	"haven/internal/consult/e2ee"
)

// An integration's device: it registers its keys, verifies a visit's devices, sends a message to
// the visit's chat and calls the clinician's device. The session cookie comes from signing in
// beforehand (not shown); the Client never sees a password.
func Example() {
	ctx := context.Background()
	jar, _ := cookiejar.New(nil) // holding the person's session cookie
	c, err := client.New(client.Config{BaseURL: "https://haven.example", HTTP: &http.Client{Jar: jar}})
	if err != nil {
		panic(err)
	}
	keys, _ := e2ee.NewDeviceKeys(nil)
	if _, err := c.RegisterDevice(ctx, keys, "integration on host A"); err != nil {
		panic(err)
	}
	const visitID, clinician = "a1b2c3", "account-of-the-clinician"
	dir, err := c.VisitKeys(ctx, visitID) // every device checked against the audit log
	if err != nil {
		panic(err)
	}
	for _, p := range dir.People {
		if w := p.Warning(); w != "" {
			fmt.Println(w) // a refused key, or devices that changed: compare the safety number
		}
	}
	number, _ := c.SafetyNumber(dir, clinician)
	fmt.Println("compare with the clinician:", number)
	if _, _, err := c.Send(ctx, client.VisitThread(visitID), dir, e2ee.Message{Text: "Hello"}); err != nil {
		panic(err)
	}

	sig, err := c.Dial(ctx, visitID, c.Me().Device)
	if err != nil {
		panic(err)
	}
	defer sig.Close()
	turn, _ := c.TURN(ctx, visitID, c.Me().Device)
	remote := dir.Devices()[0] // the clinician's device, as verified
	peer, err := c.Call(ctx, sig, client.PeerConfig{Remote: remote, ICEServers: turn.WebRTC(), DataChannel: true})
	if err != nil {
		panic(err) // client.ErrUnverifiedDescription: the call was refused
	}
	defer peer.Close()
	if err := peer.Connected(ctx); err == nil {
		peer.SendText(ctx, "hello over DTLS")
	}
}
