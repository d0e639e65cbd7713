package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/mail"
)

// Security notices. Every change to how an account signs in (password, e-mail address, second
// factors, recovery codes, role) and every sign-in from a new device e-mails the owner, so that a
// change made by someone else is noticed. A notice says what happened and when, in fixed words:
// never PHI, never a link (a phisher's favourite lure), nothing a client sent. Without e-mail
// the change is still audited and listed; nothing is sent. Nor is anything sent to a patient who
// signs in with their phone number: their record has no address to send it to.

// notice is one kind of security e-mail.
type notice struct {
	subject string
	event   string // completes "… on <date> (UTC)."
}

var (
	noticePassword      = notice{"Your Haven password was changed", "The password of your Haven account was changed"}
	noticeReset         = notice{"Your Haven password was reset", "The password of your Haven account was reset with a single-use link"}
	noticeTOTPAdded     = notice{"An authenticator app was added to your Haven account", "An authenticator app was added to your Haven account as a second factor"}
	noticeTOTPRemoved   = notice{"An authenticator app was removed from your Haven account", "The authenticator app was removed from your Haven account"}
	noticePasskeyAdded  = notice{"A passkey was added to your Haven account", "A passkey was added to your Haven account"}
	noticePasskeyGone   = notice{"A passkey was removed from your Haven account", "A passkey was removed from your Haven account"}
	noticeRecoveryCodes = notice{"New recovery codes for your Haven account", "New recovery codes were made for your Haven account; the old ones no longer work"}
	noticeEmailAsked    = notice{"A change of your Haven e-mail address was requested", "Someone signed in to your Haven account asked to move it to another e-mail address; it moves only when a link sent there is opened"}
	noticeEmailChanged  = notice{"Your Haven e-mail address was changed", "Your Haven account was moved to another e-mail address; this address no longer signs in"}
	noticeRoleChanged   = notice{"Your Haven role was changed", "An administrator changed the role of your Haven account; your sessions have ended"}
)

func newDeviceNotice(device string) notice {
	return notice{"New sign-in to your Haven account", "Your Haven account was signed in to from a new device (" + device + ")"}
}

const noticeAdvice = "If this was you, there is nothing to do.\n" +
	"If it was not, sign in to Haven, end the sessions you do not recognise under Security and sessions, " +
	"change your password, and tell your clinic or your administrator.\n"

// notify e-mails the owner of acct a notice in the background: the change does not wait on a
// mail server, and a failed send is logged by identifier only. to overrides the account's own
// address (the old address, after an e-mail change).
func (s *Service) notify(ctx context.Context, acct *account, n notice, to string, o Origin) {
	if s.cfg.Mail == nil || (to == "" && acct.Role == access.Patient && acct.phoneBidx != nil) {
		return
	}
	when := s.now().UTC()
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.sendNotice(ctx, acct, n, to, when, o); err != nil && s.cfg.Log != nil {
			s.cfg.Log.ErrorContext(ctx, "security notice failed", "account_id", acct.ID, "request_id", o.RequestID)
		}
	}()
}

// notifyAccount is notify for an account known by identifier.
func (s *Service) notifyAccount(ctx context.Context, accountID string, n notice, o Origin) error {
	if s.cfg.Mail == nil {
		return nil
	}
	acct, err := s.accountByID(ctx, accountID)
	if err != nil {
		return err
	}
	s.notify(ctx, acct, n, "", o)
	return nil
}

func (s *Service) sendNotice(ctx context.Context, acct *account, n notice, to string, when time.Time, o Origin) error {
	if to == "" {
		var err error
		if to, err = s.ownerAddress(ctx, acct, o); err != nil {
			return err
		}
		if to == "" {
			return nil // a record without an address: no one to tell
		}
	}
	body := fmt.Sprintf("%s on %s (UTC).\n\n%s", n.event, when.Format("2 January 2006 at 15:04"), noticeAdvice)
	return s.cfg.Mail.Send(ctx, mail.Message{To: []string{to}, Subject: n.subject, Body: body})
}

// ownerAddress is where an account's owner reads mail: a staff member's directory address, or
// the address on a patient's record (identity keeps none for patients).
func (s *Service) ownerAddress(ctx context.Context, acct *account, o Origin) (string, error) {
	if acct.Role != access.Patient {
		return acct.Email, nil
	}
	if s.cfg.PatientEmail == nil {
		return "", errors.New("identity: no way to reach patients")
	}
	return s.cfg.PatientEmail(ctx, acct.PatientID, "security-notice", o)
}
