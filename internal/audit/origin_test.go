package audit_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/store/storetest"
)

var originPattern = regexp.MustCompile(`^haven\.audit/[0-9a-f]{32}$`)

// TestLogOriginIsFixedAtFirstStart: each installation names its log with an origin of its own,
// created once and then read back unchanged; two installations never share one.
func TestLogOriginIsFixedAtFirstStart(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			if _, err := audit.LoadLogOrigin(ctx, db); !errors.Is(err, audit.ErrNoLogOrigin) {
				t.Fatalf("fresh database: %v, want ErrNoLogOrigin", err)
			}
			first := testOrigin(t, db)
			if !originPattern.MatchString(first.Name) || first.LegacyThrough != 0 {
				t.Fatalf("origin = %+v, want haven.audit/<128-bit hex id> and no legacy checkpoints", first)
			}
			if again := testOrigin(t, db); again != first {
				t.Fatalf("origin changed at the second start: %+v, then %+v", first, again)
			}
			if loaded, err := audit.LoadLogOrigin(ctx, db); err != nil || loaded != first {
				t.Fatalf("LoadLogOrigin = %+v, %v; want %+v", loaded, err, first)
			}
			if other := testOrigin(t, storetest.Open(t, d)); other.Name == first.Name {
				t.Fatalf("two installations share the origin %s", first.Name)
			}
		})
	}
}

// TestCheckpointOfAnotherInstallationIsRefused: a checkpoint signed for one installation's log
// does not pass as a head of another's, even signed by the same key (a key restored from one
// backup onto two machines, or a signing service shared by several). Without the origin, an
// attacker could substitute one log's signed head for the other's.
func TestCheckpointOfAnotherInstallationIsRefused(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			signer, verifier := testSigner(t)
			dbA, dbB := storetest.Open(t, d), storetest.Open(t, d)
			originA, originB := testOrigin(t, dbA), testOrigin(t, dbB)
			fill(t, dbA, 3)
			fill(t, dbB, 3)
			cpA, err := audit.NewCheckpointer(dbA, signer, originA, time.Now).Publish(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(cpA.Signed, []byte(originA.Name+"\n3\n")) {
				t.Fatalf("checkpoint does not start with its origin and size:\n%s", cpA.Signed)
			}
			if _, err := audit.OpenCheckpoint(cpA.Signed, verifier, originA); err != nil {
				t.Fatalf("own checkpoint: %v", err)
			}
			if _, err := audit.OpenCheckpoint(cpA.Signed, verifier, originB); !errors.Is(err, audit.ErrForeignCheckpoint) {
				t.Fatalf("A's checkpoint opened as B's: %v", err)
			}
			// Planted in B's database, A's checkpoint is named as another log's.
			if _, err := dbB.Exec(`INSERT INTO audit_checkpoints (size, root, signed, created_at) VALUES ($1, $2, $3, $4)`,
				cpA.Size, cpA.Root[:], cpA.Signed, time.Now().UnixNano()); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.Verify(ctx, dbB, verifier)
			if err != nil || rep.OK() || !strings.Contains(rep.Problem, "names another log than "+originB.Name) {
				t.Fatalf("verify B = %+v, %v; want the planted checkpoint refused", rep, err)
			}
		})
	}
}

// TestLegacyCheckpointsKeepVerifying: checkpoints signed before installations had origins (with
// Go's checksum-database default) still verify after the upgrade, but only those: a checkpoint
// with the legacy origin beyond the size the log had when its origin was fixed is refused.
func TestLegacyCheckpointsKeepVerifying(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			signer, verifier := testSigner(t)
			signLegacy := func() {
				t.Helper()
				head, err := audit.Head(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				signed, err := note.Sign(&note.Note{Text: string(tlog.FormatTree(head))}, signer)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(`INSERT INTO audit_checkpoints (size, root, signed, created_at) VALUES ($1, $2, $3, $4)`,
					head.N, head.Hash[:], signed, time.Now().UnixNano()); err != nil {
					t.Fatal(err)
				}
			}
			fill(t, db, 4)
			signLegacy()
			if rep, err := audit.Verify(ctx, db, verifier); err != nil || !rep.OK() || rep.Checkpoints != 1 || rep.Origin != "" {
				t.Fatalf("before the upgrade: %+v, %v", rep, err)
			}
			origin := testOrigin(t, db)
			if origin.LegacyThrough != 4 {
				t.Fatalf("origin = %+v, want legacy checkpoints through 4", origin)
			}
			fill(t, db, 3)
			if _, err := audit.NewCheckpointer(db, signer, origin, time.Now).Publish(ctx); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.Verify(ctx, db, verifier)
			if err != nil || !rep.OK() || rep.Checkpoints != 2 || rep.Covered != 7 || rep.Origin != origin.Name {
				t.Fatalf("after the upgrade: %+v, %v", rep, err)
			}
			fill(t, db, 2)
			signLegacy()
			if rep, err := audit.Verify(ctx, db, verifier); err != nil || rep.OK() || !strings.Contains(rep.Problem, "size 9 names another log") {
				t.Fatalf("a new checkpoint with the legacy origin: %+v, %v", rep, err)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	const root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	tests := []struct {
		name, text, origin string
		size               int64
		wantErr            bool
	}{
		{name: "origin", text: "haven.audit/ab\n7\n" + root + "\n", origin: "haven.audit/ab", size: 7},
		{name: "legacy", text: "go.sum database tree\n0\n" + root + "\n", origin: audit.LegacyOrigin},
		{name: "extension line", text: "o\n7\n" + root + "\nextra\n", origin: "o", size: 7},
		{name: "empty extension line", text: "o\n7\n" + root + "\n\n", wantErr: true},
		{name: "no final newline", text: "o\n7\n" + root, wantErr: true},
		{name: "empty origin", text: "\n7\n" + root + "\n", wantErr: true},
		{name: "negative size", text: "o\n-1\n" + root + "\n", wantErr: true},
		{name: "size with a sign", text: "o\n+7\n" + root + "\n", wantErr: true},
		{name: "size with a leading zero", text: "o\n07\n" + root + "\n", wantErr: true},
		{name: "short hash", text: "o\n7\nAAAA\n", wantErr: true},
		{name: "hash not canonical", text: "o\n7\n" + root[:42] + "B=\n", wantErr: true},
		{name: "two lines", text: "o\n7\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			origin, tree, err := audit.ParseCheckpoint([]byte(tc.text))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %q", tc.text)
				}
				return
			}
			if err != nil || origin != tc.origin || tree.N != tc.size {
				t.Fatalf("= %q %d %v, want %q %d", origin, tree.N, err, tc.origin, tc.size)
			}
		})
	}
}

// FuzzParseCheckpoint: what parses formats back to the same text (less extension lines), so a
// checkpoint has one reading.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("haven.audit/00112233445566778899aabbccddeeff\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("go.sum database tree\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n"))
	f.Add([]byte("o\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		origin, tree, err := audit.ParseCheckpoint(b)
		if err != nil {
			return
		}
		if out := audit.FormatCheckpoint(origin, tree); !bytes.HasPrefix(b, out) {
			t.Fatalf("%q parsed as %q %+v, which formats as %q", b, origin, tree, out)
		}
	})
}

func TestLogOriginText(t *testing.T) {
	for _, o := range []audit.LogOrigin{
		{Name: "haven.audit/00112233445566778899aabbccddeeff"},
		{Name: "haven.audit/00112233445566778899aabbccddeeff", LegacyThrough: 42},
	} {
		text, err := o.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back audit.LogOrigin
		if err := back.UnmarshalText(text); err != nil || back != o {
			t.Fatalf("%+v → %q → %+v, %v", o, text, back, err)
		}
	}
	for _, bad := range []string{"", "\n", "go.sum database tree\n", "has space\n", "o\nlegacy-checkpoints-through -1\n", "o\nx\n", "o\nlegacy-checkpoints-through 1\nmore\n"} {
		var o audit.LogOrigin
		if err := o.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) = %+v", bad, o)
		}
	}
	if _, err := (audit.LogOrigin{}).MarshalText(); err == nil {
		t.Error("an empty origin marshalled")
	}
	if _, err := audit.NewCheckpointer(nil, nil, audit.LogOrigin{}, time.Now).Publish(context.Background()); err == nil {
		t.Error("a checkpointer without an origin published")
	}
}
