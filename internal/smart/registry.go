package smart

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/ids"
	"haven/internal/principal"
)

// Purposes of use a client may be registered for (HL7 v3 PurposeOfUse): treatment, payment,
// health-care operations. Anything else a connected system does is not Haven's to allow.
var purposes = []string{"TREAT", "HPAYMT", "HOPERAT"}

// dateLayout is how agreement dates are written (inclusive days, in UTC).
const dateLayout = "2006-01-02"

// ErrNoClient is returned for a client id that names no registered system.
var ErrNoClient = fault.New(fault.NotFound, "no connected system has this identifier")

// NewClient is what an administrator registers, or changes a registration to.
type NewClient struct {
	Name string
	// JWKS is the client's public JSON Web Key Set as JSON text, or JWKSURL where it is
	// published; exactly one is given.
	JWKS    string
	JWKSURL string
	Scopes  string
	Purpose string
	// AgreementStart and AgreementEnd are the business associate agreement's first and last
	// days (YYYY-MM-DD).
	AgreementStart string
	AgreementEnd   string
}

// validate checks n and returns it in the form stored (scopes normalised to SMART v2, the key
// set compacted), or a fault.InvalidField naming the first field to fix.
func (n NewClient) validate() (NewClient, error) {
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 {
		return n, fault.InvalidField("name", "give the connected system a name people will recognise (at most 100 characters)")
	}
	n.JWKS, n.JWKSURL = strings.TrimSpace(n.JWKS), strings.TrimSpace(n.JWKSURL)
	switch {
	case n.JWKS == "" && n.JWKSURL == "":
		return n, fault.InvalidField("jwks", "paste the system's public key set (JWKS), or give the https:// address where it publishes it")
	case n.JWKS != "" && n.JWKSURL != "":
		return n, fault.InvalidField("jwks", "give either the key set or its address, not both")
	case n.JWKS != "":
		set, err := parseJWKS([]byte(n.JWKS))
		if err != nil {
			return n, fault.InvalidField("jwks", firstSentence(err))
		}
		b, err := json.Marshal(set)
		if err != nil {
			return n, fault.InvalidField("jwks", errUnusableKey.Error())
		}
		n.JWKS = string(b)
	default:
		if err := checkJWKSURL(n.JWKSURL); err != nil {
			return n, fault.InvalidField("jwksUrl", err.Error())
		}
	}
	sc, err := principal.ParseScopes(n.Scopes)
	if err != nil {
		return n, fault.InvalidField("scopes", err.Error())
	}
	n.Scopes = sc.String()
	n.Purpose = strings.ToUpper(strings.TrimSpace(n.Purpose))
	if !contains(purposes, n.Purpose) {
		return n, fault.InvalidField("purpose", "choose the purpose of use: TREAT (treatment), HPAYMT (payment) or HOPERAT (operations)")
	}
	start, err := time.Parse(dateLayout, strings.TrimSpace(n.AgreementStart))
	if err != nil {
		return n, fault.InvalidField("agreementStart", "enter the day the agreement starts as YYYY-MM-DD")
	}
	end, err := time.Parse(dateLayout, strings.TrimSpace(n.AgreementEnd))
	if err != nil {
		return n, fault.InvalidField("agreementEnd", "enter the agreement's last day as YYYY-MM-DD")
	}
	if end.Before(start) {
		return n, fault.InvalidField("agreementEnd", "the agreement's last day cannot be before its first")
	}
	n.AgreementStart, n.AgreementEnd = start.Format(dateLayout), end.Format(dateLayout)
	return n, nil
}

// firstSentence is an error's own message without go-jose's detail in parentheses.
func firstSentence(err error) string {
	msg, _, _ := strings.Cut(err.Error(), " (")
	return msg
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const (
	insertClient = `INSERT INTO smart_clients (id, name, jwks, jwks_url, scopes, purpose, agreement_start, agreement_end, disabled, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)`
	updateClient = `UPDATE smart_clients SET name = $2, jwks = $3, jwks_url = $4, scopes = $5, purpose = $6,
agreement_start = $7, agreement_end = $8, updated_at = $9 WHERE id = $1`
	setClientDisabled = `UPDATE smart_clients SET disabled = $2, updated_at = $3 WHERE id = $1`
	clientColumns     = `id, name, jwks, jwks_url, scopes, purpose, agreement_start, agreement_end, disabled, created_at`
	selectClients     = `SELECT ` + clientColumns + ` FROM smart_clients ORDER BY name, id`
	selectClient      = `SELECT ` + clientColumns + ` FROM smart_clients WHERE id = $1`
	selectClientName  = `SELECT name FROM smart_clients WHERE id = $1`
	selectClientNames = `SELECT id, name FROM smart_clients ORDER BY name, id`
)

// manage passes an administrator's act on the registry through the door (step-up).
func manage(by principal.Subject, clientID string, o principal.Origin, detail string) guard.Act {
	return guard.Act{By: by, Action: access.ManageIntegrations, Resource: access.Resource{Type: "Integration", ID: clientID}, Origin: o, Detail: detail}
}

// Register adds a connected system and returns it with its new client id, which the system
// puts in its assertions (iss and sub).
func (s *Service) Register(ctx context.Context, by principal.Subject, n NewClient, o principal.Origin) (Client, error) {
	n, err := n.validate()
	if err != nil {
		return Client{}, err
	}
	id := ids.New()
	return guard.Do(ctx, s.door, manage(by, id, o, "client-registered"), func(ctx context.Context) (Client, error) {
		now := s.now()
		if _, err := s.db.ExecContext(ctx, insertClient, id, n.Name, n.JWKS, n.JWKSURL, n.Scopes, n.Purpose,
			n.AgreementStart, n.AgreementEnd, now.UnixNano()); err != nil {
			return Client{}, fmt.Errorf("smart: register: %w", err)
		}
		return s.client(ctx, id)
	})
}

// Update replaces a connected system's registration (its name, keys, scopes, purpose and
// agreement dates), as when an agreement is renewed or a key rotated. Tokens already issued
// keep their scopes until they expire, minutes later; its agreement is checked on every use.
func (s *Service) Update(ctx context.Context, by principal.Subject, id string, n NewClient, o principal.Origin) (Client, error) {
	n, err := n.validate()
	if err != nil {
		return Client{}, err
	}
	return guard.Do(ctx, s.door, manage(by, id, o, "client-updated"), func(ctx context.Context) (Client, error) {
		res, err := s.db.ExecContext(ctx, updateClient, id, n.Name, n.JWKS, n.JWKSURL, n.Scopes, n.Purpose,
			n.AgreementStart, n.AgreementEnd, s.now().UnixNano())
		if err != nil {
			return Client{}, fmt.Errorf("smart: update: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return Client{}, ErrNoClient
		}
		return s.client(ctx, id)
	})
}

// SetDisabled disables a connected system (its tokens stop working at once, and it gets no
// new ones) or enables it again.
func (s *Service) SetDisabled(ctx context.Context, by principal.Subject, id string, disabled bool, o principal.Origin) (Client, error) {
	detail := "client-enabled"
	if disabled {
		detail = ReasonDisabled
	}
	return guard.Do(ctx, s.door, manage(by, id, o, detail), func(ctx context.Context) (Client, error) {
		res, err := s.db.ExecContext(ctx, setClientDisabled, id, boolInt(disabled), s.now().UnixNano())
		if err != nil {
			return Client{}, fmt.Errorf("smart: set disabled: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return Client{}, ErrNoClient
		}
		return s.client(ctx, id)
	})
}

// Clients lists the registered systems for an administrator.
func (s *Service) Clients(ctx context.Context, by principal.Subject, o principal.Origin) ([]Client, error) {
	return guard.Do(ctx, s.door, manage(by, "", o, "clients-listed"), func(ctx context.Context) ([]Client, error) {
		rows, err := s.db.QueryContext(ctx, selectClients)
		if err != nil {
			return nil, fmt.Errorf("smart: list clients: %w", err)
		}
		defer rows.Close()
		out := []Client{}
		for rows.Next() {
			c, err := scanClient(rows)
			if err != nil {
				return nil, err
			}
			c.AgreementInForce = inForce(c.Client, s.now())
			out = append(out, c.Client)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("smart: list clients: %w", err)
		}
		return out, nil
	})
}

// ClientName is a connected system's registered name, for the access log and the trail
// (administrative data: no door). ok is false if id names no client.
func (s *Service) ClientName(ctx context.Context, id string) (name string, ok bool, err error) {
	err = s.db.QueryRowPrepared(ctx, selectClientName, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("smart: client name: %w", err)
	}
	return name, true, nil
}

// Named is a connected system's client id and registered name.
type Named struct{ ID, Name string }

// Directory lists every registered system's id and name, for the privacy officer's filter by
// who acted (administrative data, as ClientName: no door; the officer's page is decided).
func (s *Service) Directory(ctx context.Context) ([]Named, error) {
	rows, err := s.db.QueryContext(ctx, selectClientNames)
	if err != nil {
		return nil, fmt.Errorf("smart: directory: %w", err)
	}
	defer rows.Close()
	var out []Named
	for rows.Next() {
		var n Named
		if err := rows.Scan(&n.ID, &n.Name); err != nil {
			return nil, fmt.Errorf("smart: directory: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("smart: directory: %w", err)
	}
	return out, nil
}

// stored is a client as its row holds it: the registration and its raw key set.
type stored struct {
	Client
	jwks string
}

type scanner interface{ Scan(dest ...any) error }

func scanClient(r scanner) (stored, error) {
	var c stored
	var disabled int
	var created int64
	if err := r.Scan(&c.ID, &c.Name, &c.jwks, &c.JWKSURL, &c.Scopes, &c.Purpose, &c.AgreementStart, &c.AgreementEnd, &disabled, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, ErrNoClient
		}
		return c, fmt.Errorf("smart: read client: %w", err)
	}
	c.Disabled, c.CreatedAt = disabled != 0, time.Unix(0, created).UTC()
	if c.jwks != "" {
		if err := json.Unmarshal([]byte(c.jwks), &c.JWKS); err != nil {
			return c, fmt.Errorf("smart: read client key set: %w", err)
		}
	}
	return c, nil
}

// client reads one client's registration.
func (s *Service) client(ctx context.Context, id string) (Client, error) {
	c, err := s.stored(ctx, id)
	c.AgreementInForce = err == nil && inForce(c.Client, s.now())
	return c.Client, err
}

func (s *Service) stored(ctx context.Context, id string) (stored, error) {
	return scanClient(s.db.QueryRowPrepared(ctx, selectClient, id))
}

// inForce reports whether c's agreement covers the day of now (UTC, both days inclusive).
func inForce(c Client, now time.Time) bool {
	today := now.UTC().Format(dateLayout)
	return c.AgreementStart <= today && today <= c.AgreementEnd
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
