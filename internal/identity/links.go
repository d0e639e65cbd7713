package identity

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/mail"
)

// Link is a single-use link issued on someone else's behalf: an invitation or a password reset.
// When e-mail is configured the link goes to the account's own address and the issuer never
// sees it (Emailed); otherwise, or if sending fails, URL holds it, to be shown once to the
// issuer to hand over. It is never logged.
type Link struct {
	URL     string
	Emailed bool
}

// linkKind names the page a link opens and the message that carries it.
type linkKind struct {
	path, subject, body string
}

var (
	inviteLink = linkKind{"/invite", "Your Haven account",
		"You have been invited to Haven, the secure telemedicine service.\n\n" +
			"Open this link to choose your password. It works once, for %s:\n\n%s\n\n" +
			"If you were not expecting this message, ignore it."}
	resetLink = linkKind{"/reset", "Reset your Haven password",
		"Someone asked to reset the password of your Haven account.\n\n" +
			"Open this link to choose a new one. It works once, for %s:\n\n%s\n\n" +
			"Your second factor (passkey or authenticator app) is still needed to sign in afterwards.\n" +
			"If you did not ask for this, ignore this message: your password has not changed."}
)

// Mailer sends Haven's e-mail; *mail.Sender is the production one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

func (s *Service) linkURL(kind linkKind, token string) string {
	return s.cfg.BaseURL + kind.path + "?token=" + url.QueryEscape(token)
}

// deliver e-mails a link to its owner when e-mail is configured and returns it for the issuer
// to hand over otherwise. A failed send falls back to the issuer too: the link is no more
// exposed than it would be without e-mail, and the person still gets in.
// The reason says which happened, for the audit log.
func (s *Service) deliver(ctx context.Context, kind linkKind, to, token string, lifetime time.Duration) (Link, string) {
	u := s.linkURL(kind, token)
	if s.cfg.Mail == nil || to == "" {
		return Link{URL: u}, reasonHandedOver
	}
	body := fmt.Sprintf(kind.body, humanDuration(lifetime), u)
	if err := s.cfg.Mail.Send(ctx, mail.Message{To: []string{to}, Subject: kind.subject, Body: body}); err != nil {
		return Link{URL: u}, reasonMailFailed
	}
	return Link{Emailed: true}, reasonEmailed
}

// Link delivery audit reasons.
const (
	reasonEmailed    = "link-emailed"
	reasonHandedOver = "link-shown-to-issuer"
	reasonMailFailed = "mail-failed-link-shown-to-issuer"
)

// humanDuration writes a link lifetime the way people say it: "30 minutes", "72 hours".
func humanDuration(d time.Duration) string {
	if d >= 2*time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// DeliverInvite hands over the activation link of an invitation created inside a transaction
// that has since committed (a patient's, created with the patient record).
// The delivery is audited against the invited account.
func (s *Service) DeliverInvite(ctx context.Context, by access.Subject, accountID, to, token string, o Origin) (Link, error) {
	link, reason := s.deliver(ctx, inviteLink, to, token, s.cfg.InviteLifetime)
	if err := s.record(ctx, by, "account.invite-link", accountID, audit.Success, reason, o); err != nil {
		return Link{}, err
	}
	return link, nil
}

// MailOn reports whether Haven sends e-mail: links then go to their owners, and people can ask
// for a password reset themselves.
func (s *Service) MailOn() bool { return s.cfg.Mail != nil }
