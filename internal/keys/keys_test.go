package keys_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func newService(t *testing.T, db *store.DB) *keys.Service {
	t.Helper()
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.Open(context.Background(), db, kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealedFieldIsBoundToItsPlace(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		for _, p := range []string{"p1", "p2"} {
			if _, err := s.CreatePatientKey(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		loc := keys.Location{Table: "patients", Row: "p1", Field: "name"}
		ct, err := s.Seal(ctx, "p1", loc, []byte("Ada Canary"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, []byte("Ada")) {
			t.Fatal("ciphertext contains the plaintext")
		}
		if pt, err := s.Open(ctx, "p1", loc, ct); err != nil || string(pt) != "Ada Canary" {
			t.Fatalf("Open = %q, %v", pt, err)
		}
		flipped := bytes.Clone(ct)
		flipped[len(flipped)-1] ^= 1
		tests := []struct {
			name    string
			patient string
			loc     keys.Location
			ct      []byte
		}{
			{"moved to another row", "p1", keys.Location{Table: "patients", Row: "p2", Field: "name"}, ct},
			{"moved to another field", "p1", keys.Location{Table: "patients", Row: "p1", Field: "email"}, ct},
			{"moved to another table", "p1", keys.Location{Table: "notes", Row: "p1", Field: "name"}, ct},
			{"opened with another patient's key", "p2", loc, ct},
			{"flipped byte", "p1", loc, flipped},
			{"truncated", "p1", loc, ct[:len(ct)-3]},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.Open(ctx, tc.patient, tc.loc, tc.ct); !errors.Is(err, keys.ErrOpen) {
					t.Fatalf("Open = %v, want ErrOpen", err)
				}
			})
		}
	})
}

func TestShreddedKeyCannotOpen(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		if _, err := s.CreatePatientKey(ctx, db, "p1"); err != nil {
			t.Fatal(err)
		}
		loc := keys.Location{Table: "notes", Row: "n1", Field: "body"}
		ct, err := s.Seal(ctx, "p1", loc, []byte("note"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Shred(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "p1", loc, ct); !errors.Is(err, keys.ErrNoKey) {
			t.Fatalf("Open after shred = %v, want ErrNoKey", err)
		}
	})
}

func TestKeysSurviveRestartAndNeedTheRootKey(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		kek, _ := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(dir, "root.key")))
		s1, err := keys.Open(ctx, db, kek)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s1.CreatePatientKey(ctx, db, "p1"); err != nil {
			t.Fatal(err)
		}
		loc := keys.Location{Table: "patients", Row: "p1", Field: "phone"}
		ct, _ := s1.Seal(ctx, "p1", loc, []byte("+1 555 0100"))
		idx1, _ := s1.BlindIndex(keys.IndexPhone, "+1 555 0100")

		s2, err := keys.Open(ctx, db, kek)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s2.Open(ctx, "p1", loc, ct); err != nil || string(pt) != "+1 555 0100" {
			t.Fatalf("after restart Open = %q, %v", pt, err)
		}
		idx2, _ := s2.BlindIndex(keys.IndexPhone, "+1 (555) 0100")
		if !bytes.Equal(idx1, idx2) {
			t.Fatal("blind index changed across restart")
		}

		otherKEK, _ := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "other.key")))
		if _, err := keys.Open(ctx, db, otherKEK); err == nil {
			t.Fatal("system keysets unwrapped under the wrong root key")
		}
	})
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		kind      keys.IndexKind
		a, b      string
		wantEqual bool
	}{
		{keys.IndexName, "José  Álvarez", "jose alvarez", true},
		{keys.IndexName, " ZOË\tO'Brien ", "zoe o'brien", true},
		{keys.IndexName, "Ann Lee", "Anne Lee", false},
		{keys.IndexEmail, " Ada@Example.ORG", "ada@example.org", true},
		{keys.IndexPhone, "+1 (555) 010-0199", "15550100199", true},
		{keys.IndexBirthDate, "1980-02-29", " 1980-02-29 ", true},
	}
	for _, tc := range tests {
		na, errA := keys.Normalize(tc.kind, tc.a)
		nb, errB := keys.Normalize(tc.kind, tc.b)
		if errA != nil || errB != nil {
			t.Fatalf("Normalize(%s) errors: %v, %v", tc.kind, errA, errB)
		}
		if (na == nb) != tc.wantEqual {
			t.Errorf("Normalize(%s, %q)=%q vs %q=%q: equal=%v, want %v", tc.kind, tc.a, na, tc.b, nb, na == nb, tc.wantEqual)
		}
	}
	for _, bad := range []struct {
		kind keys.IndexKind
		v    string
	}{{keys.IndexBirthDate, "29/02/1980"}, {keys.IndexBirthDate, "1981-02-29"}, {keys.IndexPhone, "12"}, {keys.IndexName, "   "}, {keys.IndexEmail, ""}} {
		if _, err := keys.Normalize(bad.kind, bad.v); !errors.Is(err, keys.ErrUnindexable) {
			t.Errorf("Normalize(%s, %q) = %v, want ErrUnindexable", bad.kind, bad.v, err)
		}
	}
}

// TestSearchTokensAreKeyedApart: a search token is an HMAC under the search-index key, not the
// blind-index key: the same text gives different tags under the two kinds, a stolen
// equality-index tag never matches a token, and the tag survives a restart (the key is kept,
// wrapped, beside the others).
func TestSearchTokensAreKeyedApart(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
		if err != nil {
			t.Fatal(err)
		}
		s, err := keys.Open(ctx, db, kek)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.BlindIndex(keys.IndexSearch, "name:lopez")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(tok, []byte("lopez")) {
			t.Fatal("the token holds its text")
		}
		name, err := s.BlindIndex(keys.IndexName, "name:lopez")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(tok, name) || bytes.Equal(tok[5:], name[5:]) {
			t.Fatal("a search token and an equality index over the same text share a tag")
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM system_keys WHERE name = 'search-index'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("search-index keyset rows = %d, %v", n, err)
		}
		again, err := keys.Open(ctx, db, kek)
		if err != nil {
			t.Fatal(err)
		}
		if tok2, err := again.BlindIndex(keys.IndexSearch, "name:lopez"); err != nil || !bytes.Equal(tok, tok2) {
			t.Fatalf("token after restart differs: %v", err)
		}
		for _, bad := range []string{"", "lopez", "name:", string([]byte{0xff, ':', 'a'})} {
			if _, err := s.BlindIndex(keys.IndexSearch, bad); !errors.Is(err, keys.ErrUnindexable) {
				t.Errorf("BlindIndex(IndexSearch, %q) = %v, want ErrUnindexable", bad, err)
			}
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"José Álvarez", "", "\u0301", "ß", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := keys.Normalize(keys.IndexName, s)
		if err != nil {
			return
		}
		again, err := keys.Normalize(keys.IndexName, n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q (%v)", s, n, again, err)
		}
	})
}

func TestAuditSignerPersistsAndVerifies(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		signer, vkey, err := s.AuditSigner(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := note.Sign(&note.Note{Text: "haven checkpoint\n"}, signer)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
			t.Fatalf("signature does not verify with the published key: %v", err)
		}
		_, vkey2, err := s.AuditSigner(ctx)
		if err != nil || vkey2 != vkey {
			t.Fatalf("signing key changed between calls: %v", err)
		}
		var sealed []byte
		db.QueryRow(`SELECT wrapped FROM system_keys WHERE name = 'audit-checkpoint-signer'`).Scan(&sealed)
		if bytes.Contains(sealed, []byte("PRIVATE+KEY")) {
			t.Fatal("the signing key is stored in clear")
		}
	})
}
