package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
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

// ErrNotInvited refuses to re-send the invitation of an account that has been activated (or
// disabled): its owner needs a password reset, or to be enabled, instead.
var ErrNotInvited = fault.New(fault.Conflict, "this person has already activated their account: reset their password instead")

// deleteUnusedInvites voids every invitation link of an account that has not been used.
const deleteUnusedInvites = `DELETE FROM invites WHERE account_id = $1 AND used_at IS NULL`

// ResendInvite issues a staff account that is still invited a new single-use invitation link,
// for the full invitation lifetime, and delivers it as InviteWorkforce does: e-mailed to the
// account's address, or returned to be shown once to the administrator. Every earlier link of
// the account stops working, so a lost one found later opens nothing. The door decides
// (access.ResendInvite, with step-up).
func (s *Service) ResendInvite(ctx context.Context, by access.Subject, accountID string, o Origin) (Link, error) {
	if err := s.admit(ctx, by, access.ResendInvite, accountID, o); err != nil {
		return Link{}, err
	}
	acct, err := s.accountByID(ctx, accountID)
	if errors.Is(err, ErrNoSession) || (err == nil && acct.Role == access.Patient) {
		return Link{}, invalid("no staff account has this identifier")
	}
	if err != nil {
		return Link{}, err
	}
	if acct.Status != StatusInvited {
		return Link{}, ErrNotInvited
	}
	var link Link
	err = s.act(ctx, by, access.ResendInvite, accountID, "", o, func(ctx context.Context) error {
		token, hash := newToken()
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			// A write that changes nothing locks the row and checks the status again, so an
			// activation racing this either finds its link gone or is seen here.
			res, err := tx.ExecContext(ctx, `UPDATE accounts SET status = status WHERE id = $1 AND status = $2`, accountID, StatusInvited)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrNotInvited
			}
			if _, err := tx.ExecContext(ctx, deleteUnusedInvites, accountID); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, insertInvite, hash, accountID, by.AccountID, s.now().Add(s.cfg.InviteLifetime).UnixNano())
			return err
		})
		if errors.Is(err, ErrNotInvited) {
			return err
		}
		if err != nil {
			return fmt.Errorf("identity: re-send invitation: %w", err)
		}
		link, err = s.DeliverInvite(ctx, by, accountID, acct.Email, token, o)
		return err
	})
	return link, err
}

// MailOn reports whether Haven sends e-mail: links then go to their owners, and people can ask
// for a password reset themselves.
func (s *Service) MailOn() bool { return s.cfg.Mail != nil }

// singleUse is a table of single-use links (token_hash, account_id, expires_at, used_at) and the
// account statuses a link in it may act on.
type singleUse struct {
	table  string
	usable func(status string) bool
}

var (
	invitations = singleUse{"invites", func(st string) bool { return st == StatusInvited }}
	// A reset link works for an active, a failure-locked or a still-invited account, never for
	// one an administrator disabled.
	resets = singleUse{"password_resets", func(st string) bool { return st != StatusDisabled }}
)

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// linkAccount returns the account an unused, unexpired link of l belongs to.
func (s *Service) linkAccount(ctx context.Context, q rowQuerier, l singleUse, token string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrInviteInvalid
	}
	var id, status string
	var expires int64
	var used sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT l.account_id, l.expires_at, l.used_at, a.status FROM `+l.table+` l
		JOIN accounts a ON a.id = l.account_id WHERE l.token_hash = $1`, hashToken(token)).Scan(&id, &expires, &used, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrInviteInvalid
	}
	if err != nil {
		return "", fmt.Errorf("identity: load %s link: %w", l.table, err)
	}
	if used.Valid || s.now().UnixNano() >= expires || !l.usable(status) {
		return "", ErrInviteInvalid
	}
	return id, nil
}

// linkPasswordHash checks that a link of l can still be used and hashes the password it sets,
// under the policy for the account it belongs to. The link is used later, in the transaction
// that stores the hash, so a refused password leaves it usable.
func (s *Service) linkPasswordHash(ctx context.Context, l singleUse, token, pw string, o Origin) (string, error) {
	id, err := s.linkAccount(ctx, s.db, l, token)
	if err != nil {
		return "", err
	}
	acct, err := s.accountByID(ctx, id)
	if err != nil {
		return "", err
	}
	words, err := s.passwordContext(ctx, acct, o)
	if err != nil {
		return "", err
	}
	return s.newPasswordHash(ctx, pw, words)
}

// useLink checks a link of l inside tx and marks it used, so that of two uses racing, one wins.
func (s *Service) useLink(ctx context.Context, tx *sql.Tx, l singleUse, token string) (string, error) {
	id, err := s.linkAccount(ctx, tx, l, token)
	if err != nil {
		return "", err
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+l.table+` SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL`, s.now().UnixNano(), hashToken(token))
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrInviteInvalid
	}
	return id, nil
}
