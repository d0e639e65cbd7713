package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserErasure: on a 375 px phone the patient finds "Ask to erase my record", reads what
// goes and what the law keeps, and asks; the privacy officer's page lists the request by the
// patient's name, and places a legal hold through its form. Every page passes axe.
func TestBrowserErasure(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e, poP, patP := clinicWithPatient(t)

	pat := newBrowserFor(t, e, 3*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(patP, "My record")
	pat.follow(chromedp.Click(chromedp.CSS("#ask-erasure")), "Ask to erase your record")
	if card := pat.text("#confirm-erasure"); !strings.Contains(card, "six years") || !strings.Contains(card, "bills") {
		t.Fatalf("the confirmation page: %q", card)
	}
	pat.noInternalCodes("ask to erase")
	pat.submit("#confirm-erasure form", "Your request is sent")

	po := pat.another()
	po.do(chromedp.EmulateViewport(1280, 900))
	po.signIn(poP, "Privacy review")
	po.follow(chromedp.Click(chromedp.CSS("#governance-link")), "Erasure and legal holds")
	if row := po.text("#requests-heading + p + table"); !strings.Contains(row, "Ada Canary") || !strings.Contains(row, "Waiting for your decision") {
		t.Fatalf("the requests: %q", row)
	}
	po.noInternalCodes("erasure and legal holds")
	po.fill("#hold-patient", "Ada Canary")
	po.submit(`form[action="/auditor/legal-holds"]`, "Erasure and legal holds")
	if done := po.text("#done"); !strings.Contains(done, "legal hold is placed") {
		t.Fatalf("after placing the hold: %q", done)
	}
	po.screenshot("privacy-erasure-holds")
}
