package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"haven/internal/ids"
	"slices"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

const (
	insertAccount = `INSERT INTO accounts (id, role, status, email_bidx, phone_bidx, email_ct, name_ct, patient_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	// accountColumns are the columns scanAccount reads, in its order.
	accountColumns = `SELECT id, role, status, email_ct, name_ct, COALESCE(patient_id, ''), password_hash,
		totp_secret_ct, totp_last_step, created_at, phone_bidx FROM accounts `
	selectAccountByID    = accountColumns + `WHERE id = $1`
	selectAccountByEmail = accountColumns + `WHERE email_bidx = $1`
	selectAccountByPhone = accountColumns + `WHERE phone_bidx = $1`
	selectWorkforce      = accountColumns + `WHERE role <> 'patient' ORDER BY created_at`
	insertInvite         = `INSERT INTO invites (token_hash, account_id, issued_by, expires_at) VALUES ($1, $2, $3, $4)`
	// selectNamesIn is completed with a store.InList of account identifiers.
	selectNamesIn = `SELECT id, name_ct FROM accounts WHERE id IN `
)

// account is a row of accounts, with secrets still sealed.
type account struct {
	Account
	passwordHash string
	totpSealed   []byte
	totpLastStep int64
	// phoneBidx is the blind index of the phone number a patient without an e-mail address
	// signs in with (phone.go); nil for every other account.
	phoneBidx []byte
}

type rowScanner interface{ Scan(dest ...any) error }

func (s *Service) scanAccount(r rowScanner) (*account, error) {
	var a account
	var emailCT, nameCT []byte
	var pw sql.NullString
	var created int64
	if err := r.Scan(&a.ID, &a.Role, &a.Status, &emailCT, &nameCT, &a.PatientID, &pw, &a.totpSealed, &a.totpLastStep, &created, &a.phoneBidx); err != nil {
		return nil, err
	}
	a.passwordHash = pw.String
	a.HasTOTP = len(a.totpSealed) > 0
	a.CreatedAt = time.Unix(0, created)
	if emailCT != nil {
		b, err := s.dir.OpenDirectory(keys.Location{Table: "accounts", Row: a.ID, Field: "email"}, emailCT)
		if err != nil {
			return nil, err
		}
		a.Email = string(b)
	}
	if nameCT != nil {
		b, err := s.dir.OpenDirectory(keys.Location{Table: "accounts", Row: a.ID, Field: "name"}, nameCT)
		if err != nil {
			return nil, err
		}
		a.Name = string(b)
	}
	return &a, nil
}

func (s *Service) accountByID(ctx context.Context, id string) (*account, error) {
	a, err := s.scanAccount(s.db.QueryRowContext(ctx, selectAccountByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load account: %w", err)
	}
	return a, nil
}

// Account returns the directory view of an account.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	a, err := s.accountByID(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return a.Account, nil
}

// Workforce lists staff accounts, for administrators.
func (s *Service) Workforce(ctx context.Context, by access.Subject, o Origin) ([]Account, error) {
	return guard.Do(ctx, s.door, guard.Act{By: by, Action: access.ManageAccounts, Resource: access.Resource{Type: "Account"}, Origin: o}, s.workforce)
}

func (s *Service) workforce(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, selectWorkforce)
	if err != nil {
		return nil, fmt.Errorf("identity: list workforce: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := s.scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("identity: list workforce: %w", err)
		}
		out = append(out, a.Account)
	}
	return out, rows.Err()
}

// ValidEmail is a deliberately loose check: one @, something either side, no spaces.
func ValidEmail(e string) bool {
	e = strings.TrimSpace(e)
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(e, " \t\r\n<>") && len(e) <= 254
}

// createAccount inserts an invited account and its single-use invitation through q. A patient
// without an e-mail address (phone set, email empty) signs in with their phone number instead.
func (s *Service) createAccount(ctx context.Context, q store.Execer, by access.Subject, id string, role access.Role, email, phone, name, patientID string) (string, string, error) {
	var bidx, phoneBidx []byte
	var err error
	if role == access.Patient && strings.TrimSpace(email) == "" {
		if phoneBidx, err = s.phoneIndex(phone); err != nil {
			return "", "", err
		}
		bidx = noEmailPlaceholder()
	} else {
		if !ValidEmail(email) {
			return "", "", invalid("enter a valid e-mail address")
		}
		if bidx, err = s.dir.BlindIndex(keys.IndexEmail, email); err != nil {
			return "", "", invalid("enter a valid e-mail address")
		}
	}
	var emailCT, nameCT []byte
	var pid any
	if role == access.Patient {
		pid = patientID
	} else {
		if strings.TrimSpace(name) == "" || len(name) > 200 {
			return "", "", invalid("enter a name of at most 200 characters")
		}
		if emailCT, err = s.dir.SealDirectory(keys.Location{Table: "accounts", Row: id, Field: "email"}, []byte(strings.TrimSpace(email))); err != nil {
			return "", "", err
		}
		if nameCT, err = s.dir.SealDirectory(keys.Location{Table: "accounts", Row: id, Field: "name"}, []byte(strings.TrimSpace(name))); err != nil {
			return "", "", err
		}
	}
	now := s.now()
	if _, err := q.ExecContext(ctx, insertAccount, id, string(role), StatusInvited, bidx, phoneBidx, emailCT, nameCT, pid, now.UnixNano()); err != nil {
		if store.IsUniqueViolation(err) && phoneBidx != nil {
			return "", "", ErrPhoneTaken
		}
		if store.IsUniqueViolation(err) {
			return "", "", ErrEmailTaken
		}
		return "", "", fmt.Errorf("identity: create account: %w", err)
	}
	token, hash := newToken()
	if _, err := q.ExecContext(ctx, insertInvite, hash, id, by.AccountID, now.Add(s.cfg.InviteLifetime).UnixNano()); err != nil {
		return "", "", fmt.Errorf("identity: create invite: %w", err)
	}
	return id, token, nil
}

// InviteWorkforce creates an invited staff account and delivers its single-use activation link:
// e-mailed to the new staff member, or returned to be shown once to the administrator who
// issued it. The door decides (access.InviteStaff, with step-up) before anything else.
func (s *Service) InviteWorkforce(ctx context.Context, by access.Subject, role access.Role, email, name string, o Origin) (string, Link, error) {
	if err := s.admit(ctx, by, access.InviteStaff, "", o); err != nil {
		return "", Link{}, err
	}
	if !role.Valid() || !role.Workforce() {
		return "", Link{}, invalid("choose a staff role")
	}
	id := ids.New()
	var link Link
	err := s.act(ctx, by, access.InviteStaff, id, string(role), o, func(ctx context.Context) error {
		_, token, err := s.createAccount(ctx, s.db, by, id, role, email, "", name, "")
		if err != nil {
			return err
		}
		link, err = s.DeliverInvite(ctx, by, id, strings.TrimSpace(email), token, o)
		return err
	})
	if err != nil {
		return "", Link{}, err
	}
	return id, link, nil
}

// CreatePatientAccount creates an invited account for a patient record, through q (the
// transaction that registers the patient), and returns the single-use activation token. The
// patient signs in with the record's e-mail address or, when it has none, with its phone
// number, which must then carry its country code (SignInPhone).
func (s *Service) CreatePatientAccount(ctx context.Context, q store.Execer, by access.Subject, patientID, email, phone string) (string, string, error) {
	return s.createAccount(ctx, q, by, ids.New(), access.Patient, email, phone, "", patientID)
}

// record appends an account or authentication event through the door, which builds every
// entry.
func (s *Service) record(ctx context.Context, by access.Subject, action, accountID, outcome, reason string, o Origin) error {
	return s.door.Record(ctx, guard.Event{By: by, Action: action,
		Resource: access.Resource{Type: "Account", ID: accountID, PatientID: by.PatientID},
		Outcome:  outcome, Reason: reason, Origin: o})
}

// act passes an administrative act on an account through the door and runs it once its entry,
// with detail (identifiers and fixed words only), is durable: a change is never made unrecorded.
func (s *Service) act(ctx context.Context, by access.Subject, a access.Action, accountID, detail string, o Origin, run func(context.Context) error) error {
	return guard.Run(ctx, s.door, guard.Act{By: by, Action: a, Resource: access.Resource{Type: "Account", ID: accountID},
		Origin: o, Detail: detail}, run)
}

// admit passes an administrative act on an account through the door: the policy decides and
// step-up is enforced before anything is looked at, and a refusal is recorded. The act's
// success is recorded by the caller once it is done.
func (s *Service) admit(ctx context.Context, by access.Subject, a access.Action, accountID string, o Origin) error {
	return s.door.Admit(ctx, guard.Act{By: by, Action: a, Resource: access.Resource{Type: "Account", ID: accountID}, Origin: o})
}

// PatientAccountID returns the identifier of the account of a patient's record: the one
// account whose acts on that record are the patient's own.
func (s *Service) PatientAccountID(ctx context.Context, patientID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM accounts WHERE patient_id = $1`, patientID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("identity: patient account: %w", err)
	}
	return id, nil
}

// DisplayName returns a staff member's name as patients and colleagues see it.
func (s *Service) DisplayName(ctx context.Context, accountID string) (string, error) {
	a, err := s.accountByID(ctx, accountID)
	if err != nil {
		return "", err
	}
	return a.Name, nil
}

// DisplayNames returns the names of the accounts ids, as DisplayName does, in one query per
// store.MaxInList distinct identifiers (repeats are looked up once). An identifier that names
// no account is absent from the map; only the name is opened, nothing else of the account.
func (s *Service) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	uniq := slices.Clone(ids)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	out := make(map[string]string, len(uniq))
	for chunk := range slices.Chunk(uniq, store.MaxInList) {
		list, args := store.InList(1, chunk)
		if err := s.displayNames(ctx, selectNamesIn+list, args, out); err != nil {
			return nil, fmt.Errorf("identity: display names: %w", err)
		}
	}
	return out, nil
}

func (s *Service) displayNames(ctx context.Context, query string, args []any, out map[string]string) error {
	rows, err := s.db.QueryPrepared(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var nameCT []byte
		if err := rows.Scan(&id, &nameCT); err != nil {
			return err
		}
		out[id] = ""
		if nameCT != nil {
			b, err := s.dir.OpenDirectory(keys.Location{Table: "accounts", Row: id, Field: "name"}, nameCT)
			if err != nil {
				return err
			}
			out[id] = string(b)
		}
	}
	return rows.Err()
}

// ChangeRole gives a staff account another staff role and ends all its sessions: a session
// carries the privileges it signed in with, and a new role starts with a new sign-in. No one
// changes their own role, so an organisation is never left without the administrator who made
// the change. The door decides (access.ChangeRole) and asks for a recent step-up.
func (s *Service) ChangeRole(ctx context.Context, by access.Subject, accountID string, role access.Role, o Origin) error {
	if err := s.admit(ctx, by, access.ChangeRole, accountID, o); err != nil {
		return err
	}
	if !role.Valid() || !role.Workforce() {
		return invalid("choose a staff role")
	}
	if accountID == by.AccountID {
		return invalid("another administrator must change your role")
	}
	var from access.Role
	err := s.db.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = $1`, accountID).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) || from == access.Patient {
		return invalid("no staff account has this identifier")
	}
	if err != nil {
		return fmt.Errorf("identity: change role: %w", err)
	}
	if from == role {
		return nil
	}
	// The entry, with the change it makes, is durable before the change: the role and the
	// end of the account's sessions move together in one transaction after it.
	err = s.act(ctx, by, access.ChangeRole, accountID, string(from)+"->"+string(role), o, func(ctx context.Context) error {
		return s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET role = $1 WHERE id = $2 AND role <> 'patient'`, string(role), accountID); err != nil {
				return fmt.Errorf("identity: change role: %w", err)
			}
			if _, err := tx.ExecContext(ctx, deleteSessionsOf, accountID); err != nil {
				return fmt.Errorf("identity: change role: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return s.notifyAccount(ctx, accountID, noticeRoleChanged, o)
}
