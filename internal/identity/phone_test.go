package identity

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"haven/internal/keys"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func TestSignInPhone(t *testing.T) {
	for _, tc := range []struct {
		in          string
		strict      string // SignInPhone: a record's number, with its country code
		strictOK    bool
		login       string // loginPhone: a typed sign-in name, the "+" optional
		loginOK     bool
		description string
	}{
		{"+34 612 345 678", "+34612345678", true, "+34612345678", true, "spaces"},
		{"0034 612-345-678", "+34612345678", true, "+34612345678", true, "00 for +, dashes"},
		{" +34 (612) 345.678 ", "+34612345678", true, "+34612345678", true, "brackets, dots, trimmed"},
		{"+44 (0)7700 900123", "+447700900123", true, "+447700900123", true, "national (0) dropped"},
		{"+34\u00a0612\u00a0345\u00a0678", "+34612345678", true, "+34612345678", true, "no-break spaces, as pasted"},
		{"34612345678", "", false, "+34612345678", true, "country code without +: a sign-in name, not a record's number"},
		{"612 345 678", "", false, "+612345678", true, "no country code: read as one, another number"},
		{"+34 612 345 678 ext 5", "", false, "", false, "letters"},
		{"+1 23", "", false, "", false, "too short"},
		{"+1234567890123456", "", false, "", false, "16 digits: longer than E.164"},
		{"+", "", false, "", false, "nothing"},
		{"++34612345678", "", false, "", false, "two pluses"},
		{"ada@example.test", "", false, "", false, "an e-mail address"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			if got, ok := SignInPhone(tc.in); got != tc.strict || ok != tc.strictOK {
				t.Errorf("SignInPhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.strict, tc.strictOK)
			}
			if got, ok := loginPhone(tc.in); got != tc.login || ok != tc.loginOK {
				t.Errorf("loginPhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.login, tc.loginOK)
			}
		})
	}
}

// FuzzSignInPhone: whatever is typed, a number read is "+" and 7 to 15 digits, and reads as
// itself again; a record's number always reads the same as a sign-in name.
func FuzzSignInPhone(f *testing.F) {
	for _, s := range []string{"+34 612 345 678", "0034612345678", "+44 (0)7700 900123", "612345678", "+", "(0)(0)", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, read := range map[string]func(string) (string, bool){"SignInPhone": SignInPhone, "loginPhone": loginPhone} {
			p, ok := read(s)
			if !ok {
				continue
			}
			digits := strings.TrimPrefix(p, "+")
			if len(digits) < minPhoneDigits || len(digits) > maxPhoneDigits || strings.Trim(digits, "0123456789") != "" {
				t.Fatalf("%s(%q) = %q", name, s, p)
			}
			if again, ok := read(p); !ok || again != p {
				t.Fatalf("%s(%q) = %q, which reads as %q, %v", name, s, p, again, ok)
			}
		}
		if p, ok := SignInPhone(s); ok {
			if l, _ := loginPhone(s); l != p {
				t.Fatalf("SignInPhone(%q) = %q but loginPhone reads %q", s, p, l)
			}
		}
	})
}

// phonePatient creates the account of a patient without an e-mail address, who signs in with
// phone, and activates it with a passphrase long enough to stand alone.
func (f *adminFixture) phonePatient(patientID, phone string) (accountID string) {
	f.t.Helper()
	ctx := context.Background()
	id, token, err := f.s.CreatePatientAccount(ctx, f.db, f.by, patientID, "", phone)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, _, err := f.s.ActivateInvite(ctx, token, phonePassphrase, Origin{Addr: "192.0.2.4"}); err != nil {
		f.t.Fatal(err)
	}
	return id
}

const phonePassphrase = "quiet orchard bicycle river"

// TestPhoneSignIn: a patient without an e-mail address signs in with their phone number typed
// with its country code, however formatted; without it, or with another number, the answer is
// the one a wrong password gets. The sign-in name follows the record: a new number moves it, an
// e-mail address replaces it. Two accounts cannot sign in with one number.
func TestPhoneSignIn(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		f.phonePatient("patient-1", "+34 612 345 678")
		signIn := func(name string) error {
			_, _, err := f.s.Login(ctx, name, phonePassphrase, Origin{Addr: "192.0.2.5"})
			return err
		}
		for _, tc := range []struct {
			name string
			want error
		}{
			{"+34 612 345 678", nil},
			{"+34612345678", nil},
			{"0034 612-345-678", nil},
			{"34 612 345 678", nil},
			{"612 345 678", ErrInvalidCredentials},     // no country code
			{"+34 612 345 679", ErrInvalidCredentials}, // another number
			{"+34 612 345 678 x", ErrInvalidCredentials},
		} {
			if err := signIn(tc.name); !errors.Is(err, tc.want) {
				t.Errorf("sign in as %q = %v, want %v", tc.name, err, tc.want)
			}
		}

		for _, tc := range []struct {
			name      string
			patientID string
			phone     string
			want      error
		}{
			{"the same number", "patient-2", "0034612345678", ErrPhoneTaken},
			{"no country code", "patient-3", "612 345 679", ErrInvalidInput},
		} {
			if _, _, err := f.s.CreatePatientAccount(ctx, db, f.by, tc.patientID, "", tc.phone); !errors.Is(err, tc.want) {
				t.Errorf("%s: CreatePatientAccount = %v, want %v", tc.name, err, tc.want)
			}
		}

		// A new number moves the sign-in name with it, in the caller's transaction.
		err := db.InTx(ctx, func(tx *sql.Tx) error { return f.s.SetPatientPhone(ctx, tx, "patient-1", "+34 699 000 111") })
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "the old number", signIn("+34 612 345 678"), ErrInvalidCredentials)
		wantErr(t, "the new number", signIn("+34 699 000 111"), nil)
		f.phonePatient("patient-4", "+34 612 345 678") // the old number is free again
		err = db.InTx(ctx, func(tx *sql.Tx) error { return f.s.SetPatientPhone(ctx, tx, "patient-4", "+34 699 000 111") })
		wantErr(t, "another account's number", err, ErrPhoneTaken)

		// An e-mail address on the record replaces the number as the sign-in name.
		if err := f.s.SetPatientEmail(ctx, db, "patient-1", "Pat@Example.test"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "the number once the record has an address", signIn("+34 699 000 111"), ErrInvalidCredentials)
		wantErr(t, "the address", signIn("pat@example.test"), nil)
		wantErr(t, "an address in use", f.s.SetPatientEmail(ctx, db, "patient-4", "admin@haven.test"), ErrEmailTaken)
		var phoneBidx []byte
		if err := db.QueryRowContext(ctx, `SELECT phone_bidx FROM accounts WHERE patient_id = 'patient-1'`).Scan(&phoneBidx); err != nil || phoneBidx != nil {
			t.Fatalf("phone_bidx after the e-mail address = %x, %v; want NULL", phoneBidx, err)
		}
		// A number change for an account that signs in with its address leaves it so.
		if err := f.s.SetPatientPhone(ctx, db, "patient-1", "+34 600 000 222"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "a number after the address", signIn("+34 600 000 222"), ErrInvalidCredentials)
	})
}

// TestPhoneSignInIsAKeyedBlindIndex: the account keeps the HMAC of the number's digits, never
// the number, and its e-mail column a placeholder no blind index equals.
func TestPhoneSignInIsAKeyedBlindIndex(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		f.phonePatient("patient-1", "+34 612 345 678")
		var emailBidx, phoneBidx, emailCT []byte
		if err := db.QueryRowContext(ctx, `SELECT email_bidx, phone_bidx, email_ct FROM accounts WHERE patient_id = 'patient-1'`).
			Scan(&emailBidx, &phoneBidx, &emailCT); err != nil {
			t.Fatal(err)
		}
		want, err := f.s.dir.BlindIndex(keys.IndexPhone, "34612345678")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(phoneBidx, want) {
			t.Errorf("phone_bidx = %x, want the blind index of the digits %x", phoneBidx, want)
		}
		if bytes.Contains(phoneBidx, []byte("612345678")) || emailCT != nil {
			t.Errorf("the account holds the number or an address: %x %x", phoneBidx, emailCT)
		}
		if !bytes.HasPrefix(emailBidx, []byte("no-email:")) || len(emailBidx) >= len(want) {
			t.Errorf("email_bidx = %x, want a placeholder shorter than any blind index", emailBidx)
		}
	})
}

// TestUnknownAndKnownPhonesDoTheSameWorkBeforeAnswering is the enumeration row for phone sign-in
// names: a wrong password for a number that signs in and any password for one that does not run
// one argon2id evaluation, append one audit entry and write no other row before answering, and
// answer with the same error.
func TestUnknownAndKnownPhonesDoTheSameWorkBeforeAnswering(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		f.phonePatient("patient-1", "+34 612 345 678")
		aud := f.s.door
		writes := storetest.CountWrites(t, db)
		type work struct {
			Err             string
			Hashes, Appends int
			Rows            map[string]int
		}
		attempt := func(name string) work {
			t.Helper()
			hashes, appends, before := f.s.hasher.Runs(f.s.cfg.PasswordParams), aud.Written(), writes()
			_, _, err := f.s.Login(ctx, name, "not the passphrase at all", Origin{Addr: "192.0.2.2"})
			w := work{Err: err.Error(), Hashes: int(f.s.hasher.Runs(f.s.cfg.PasswordParams) - hashes), Appends: int(aud.Written() - appends), Rows: map[string]int{}}
			for tbl, n := range writes() {
				if n -= before[tbl]; n != 0 && !strings.HasPrefix(tbl, "audit_") {
					w.Rows[tbl] = n
				}
			}
			return w
		}
		want := work{Err: ErrInvalidCredentials.Error(), Hashes: 1, Appends: 1, Rows: map[string]int{}}
		for _, name := range []string{"+34 699 999 999", "+34 612 345 678", "34612345678", "+1 555 0100 000"} {
			if diff := cmp.Diff(want, attempt(name)); diff != "" {
				t.Errorf("sign in as %q, work before answering (-want +got):\n%s", name, diff)
			}
		}
	})
}
