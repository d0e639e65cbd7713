package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

// Search tokens. A patient is found by typed words computed from their record, each kept only
// as an HMAC under the search-index key (keys.IndexSearch) in patient_search_tokens:
//
//	name:<part>        a name part of one or two characters ("li")
//	nprefix:<prefix>   each prefix of 3 to maxPrefix characters of a longer name part
//	                   ("lop", "lope", "lopez"); a part longer than maxPrefix keeps only those
//	fullname:<parts>   the name's parts, sorted, for the duplicate check at registration
//	birth:<date>       the birth date, YYYY-MM-DD
//	phone:<digits>     the phone number's last nine digits (all of them when it has fewer), so a
//	                   number with and without its country code gives the same token
//
// Name parts are the name folded as its blind index folds it (case, accents, compatibility
// forms), cut at anything that is not a letter or a digit (spaces, hyphens, apostrophes); a
// part holding an apostrophe is also kept whole without it ("o'brien": "o", "brien",
// "obrien"). A record yields at most maxNameParts parts and maxTokens tokens.

const (
	minPrefix    = 3
	maxPrefix    = 8
	maxNameParts = 8
	// maxTokens bounds the rows one patient has (what a thief can count per patient).
	// maxNameParts parts of maxPrefix-minPrefix+1 prefixes each, the full name, birth date and
	// phone make 51; the bound leaves room and is enforced.
	maxTokens = 64
	// phoneDigits is how many trailing digits of a phone number its token keeps: enough for a
	// national number in most plans, so "+34 612 345 678" and "612345678" meet.
	phoneDigits = 9
)

// Token kinds.
const (
	tokName     = "name:"
	tokPrefix   = "nprefix:"
	tokFullName = "fullname:"
	tokBirth    = "birth:"
	tokPhone    = "phone:"
)

// SearchFields are the parts of a record its search tokens are made from.
type SearchFields struct {
	Name      string
	BirthDate string
	Phone     string
}

// searchTokens returns the typed words a record is found by, without duplicates, at most
// maxTokens of them. A field that cannot be indexed adds nothing.
func searchTokens(f SearchFields) []string {
	var out []string
	parts := nameParts(f.Name)
	if len(parts) > maxNameParts {
		parts = parts[:maxNameParts]
	}
	if full := fullNameToken(f.Name); full != "" {
		out = append(out, full)
	}
	if d, err := keys.Normalize(keys.IndexBirthDate, f.BirthDate); err == nil {
		out = append(out, tokBirth+d)
	}
	if p := phoneToken(f.Phone); p != "" {
		out = append(out, p)
	}
	for _, p := range parts {
		r := []rune(p)
		if len(r) < minPrefix {
			out = append(out, tokName+p)
			continue
		}
		for k := minPrefix; k <= min(len(r), maxPrefix); k++ {
			out = append(out, tokPrefix+string(r[:k]))
		}
	}
	out = dedupe(out)
	if len(out) > maxTokens {
		out = out[:maxTokens]
	}
	return out
}

// nameTermToken is the one token a typed name term (a name part) is looked up by: a short
// part by itself, a longer one as a prefix of at most maxPrefix characters.
func nameTermToken(part string) string {
	r := []rune(part)
	if len(r) < minPrefix {
		return tokName + part
	}
	return tokPrefix + string(r[:min(len(r), maxPrefix)])
}

// nameParts folds a name and cuts it into its parts, in order, without duplicates.
func nameParts(name string) []string {
	n, err := keys.Normalize(keys.IndexName, name)
	if err != nil {
		return nil
	}
	var out []string
	for _, piece := range strings.FieldsFunc(n, func(r rune) bool { return !isWordRune(r) && !isApostrophe(r) }) {
		sub := strings.FieldsFunc(piece, func(r rune) bool { return !isWordRune(r) })
		out = append(out, sub...)
		if len(sub) > 1 {
			out = append(out, strings.Join(sub, ""))
		}
	}
	return dedupe(out)
}

// fullNameToken is the token for a whole name whatever the order, case, accents or hyphens of
// its parts, or "" for a name with no parts.
func fullNameToken(name string) string {
	parts := nameParts(name)
	if len(parts) == 0 {
		return ""
	}
	parts = slices.Clone(parts)
	slices.Sort(parts)
	return tokFullName + strings.Join(parts, " ")
}

// phoneToken is the token of a phone number: its last phoneDigits digits, or "" when it has
// fewer than five digits.
func phoneToken(phone string) string {
	d := digitsOf(phone)
	if len(d) < 5 {
		return ""
	}
	return tokPhone + d[max(0, len(d)-phoneDigits):]
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', 'ʼ', '‘', '`', '´':
		return true
	}
	return false
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

const (
	deleteSearchTokens = `DELETE FROM patient_search_tokens WHERE patient_id = $1`
	// insertSearchTokens is completed with one "($1, $n)" per token.
	insertSearchTokens = `INSERT INTO patient_search_tokens (patient_id, token_mac) VALUES `
)

// writeSearchTokens replaces a patient's search tokens with those of f, through q: call it in
// the transaction that writes the record's name, birth date or phone (registration, a contact
// update), so the tokens never disagree with the record that commits.
func (r *Records) writeSearchTokens(ctx context.Context, q store.Execer, patientID string, f SearchFields) error {
	toks := searchTokens(f)
	if _, err := q.ExecContext(ctx, deleteSearchTokens, patientID); err != nil {
		return fmt.Errorf("clinical: clear search tokens: %w", err)
	}
	if len(toks) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(insertSearchTokens)
	args := []any{patientID}
	for i, t := range toks {
		mac, err := r.cipher.BlindIndex(keys.IndexSearch, t)
		if err != nil {
			return fmt.Errorf("clinical: search token: %w", err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("($1, $" + strconv.Itoa(len(args)+1) + ")")
		args = append(args, mac)
	}
	// Two nodes backfilling at once write the same rows.
	b.WriteString(" ON CONFLICT DO NOTHING")
	if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("clinical: write search tokens: %w", err)
	}
	return nil
}

// Backfill is what BackfillSearchTokens did, in counts only.
type Backfill struct {
	Indexed    int // records given their search tokens
	Unreadable int // records that did not open (each raised as an integrity alert), left out
}

// backfillBatch is how many records one backfill transaction indexes.
const backfillBatch = 100

const (
	selectUnindexed = `SELECT id FROM patients p WHERE NOT EXISTS
		(SELECT 1 FROM patient_search_tokens t WHERE t.patient_id = p.id) ORDER BY created_at, id`
	selectSearchFields = `SELECT name_ct, birth_date_ct, phone_ct FROM patients WHERE id = $1`
)

// ActionSearchIndex is what the entry of a backfill records: Haven opened records to build
// their search tokens (no one was shown anything).
const ActionSearchIndex = "patient.search-index"

// BackfillSearchTokens gives search tokens to every record that has none: the records written
// before search tokens existed, or left out by an earlier start that stopped part way. It runs
// at start, before requests are served. Each record is opened through the key service, its
// tokens computed and written; nothing of the record leaves this function, and nothing but
// counts is reported. When it indexed anything, one audit entry (Haven itself, with the
// counts) says so. Records that do not open raise the usual integrity alert and are tried
// again at the next start.
func (r *Records) BackfillSearchTokens(ctx context.Context) (Backfill, error) {
	var out Backfill
	ids, err := r.queryIDs(ctx, selectUnindexed)
	if err != nil {
		return out, fmt.Errorf("clinical: backfill search tokens: %w", err)
	}
	for chunk := range slices.Chunk(ids, backfillBatch) {
		fields := make(map[string]SearchFields, len(chunk))
		for _, id := range chunk {
			f, err := r.loadSearchFields(ctx, id)
			if err != nil {
				if errors.Is(err, ErrUnreadable) {
					out.Unreadable++
					continue
				}
				return out, err
			}
			fields[id] = f
		}
		err := r.db.InTx(ctx, func(tx *sql.Tx) error {
			for _, id := range chunk {
				if f, ok := fields[id]; ok {
					if err := r.writeSearchTokens(ctx, tx, id, f); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("clinical: backfill search tokens: %w", err)
		}
		out.Indexed += len(fields)
	}
	if out.Indexed == 0 && out.Unreadable == 0 {
		return out, nil
	}
	ev := guard.Event{By: access.SystemSubject(), Action: ActionSearchIndex, Resource: access.Resource{Type: "Patient"},
		Outcome: audit.Success, Reason: access.ReasonSystem + " indexed-" + strconv.Itoa(out.Indexed) + " unreadable-" + strconv.Itoa(out.Unreadable),
		Origin: Origin{RequestID: "search-index-backfill"}}
	if err := r.door.Record(ctx, ev); err != nil {
		return out, err
	}
	return out, nil
}

// loadSearchFields opens the fields a record's search tokens are made from.
func (r *Records) loadSearchFields(ctx context.Context, id string) (SearchFields, error) {
	var ct [3][]byte
	if err := r.db.QueryRowContext(ctx, selectSearchFields, id).Scan(&ct[0], &ct[1], &ct[2]); err != nil {
		return SearchFields{}, fmt.Errorf("clinical: load search fields: %w", err)
	}
	var f SearchFields
	out := [3]*string{&f.Name, &f.BirthDate, &f.Phone}
	for i, field := range []string{"name", "birth_date", "phone"} {
		pt, err := r.cipher.Open(ctx, id, keys.Location{Table: "patients", Row: id, Field: field}, ct[i])
		if err != nil {
			return SearchFields{}, r.unreadable(ctx, id, fmt.Errorf("clinical: open patient %s: %w", field, err))
		}
		*out[i] = string(pt)
	}
	return f, nil
}
