// Package password hashes and checks passwords with argon2id (RFC 9106) and applies the policy
// of NIST SP 800-63B: a length, a blocklist (common passwords, context words, and what the zxcvbn
// estimator finds too easy to guess), no composition rules, Unicode normalised, never truncated.
//
// Hashes are PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so parameters can be raised
// later while old hashes still verify.
//
// # Bounded hashing
//
// A Hasher runs at most a fixed number of hashes at once, by default half the processors Go
// schedules goroutines on (GOMAXPROCS, at least one; see DefaultConcurrency), so that a storm
// of sign-ins cannot take every core from the requests that serve patients. A hash at the
// default parameters keeps a core busy for about 28 ms without blocking; with every processor
// hashing, a request's goroutine that becomes runnable (after each database call or fsync)
// waits until the scheduler preempts a hash, which it does every 10 ms or so. On two
// processors, one hash per processor made the p99 of a PHI read 10–19 times its idle value
// during a storm; one hash at a time makes it about 3 times (docs/benchmarks.md, section 4,
// which also says why not less). Bounding hashing to half the processors leaves the rest to
// everything else, at the price of answering fewer sign-in attempts a second under a storm
// (about 40 % fewer there).
//
// Hash and Verify wait their turn for a slot, in arrival order, for as long as their context
// lives: under a storm, sign-ins queue (each waits about queue length × hash time ÷ slots)
// rather than fail, and one whose client gives up (its request context ends) leaves the queue
// with an error and without hashing.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"haven/internal/fault"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams is OWASP's argon2id recommendation (m=19 MiB, t=2, p=1): about 28 ms a hash on
// the reference machine (docs/benchmarks.md).
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinLength applies to accounts that also have a second factor.
	MinLength = 8
	// MinLengthAlone applies to a password that is the account's only factor (NIST SP 800-63B
	// rev 4 §3.1.1.2: 15 characters for single-factor use).
	MinLengthAlone = 15
	// MaxLength is far above the 64 characters NIST asks to allow; it only bounds hashing work.
	MaxLength = 256
)

// ErrPolicy explains why a new password was refused; its text is safe to show the user.
type ErrPolicy struct{ Reason string }

func (e ErrPolicy) Error() string { return "password refused: " + e.Reason }

// Unwrap gives the refusal its kind, so transports answer it as invalid input.
func (e ErrPolicy) Unwrap() error { return fault.New(fault.Invalid, e.Error()) }

// ErrMalformedHash means a stored hash is not an argon2id PHC string.
var ErrMalformedHash = errors.New("password: malformed hash")

// Normalize applies NFKC so the same password typed on different keyboards hashes the same.
func Normalize(pw string) string { return norm.NFKC.String(pw) }

// CheckPolicy refuses passwords too short or too long, counted in characters after normalising,
// passwords on the list of commonly used (and breached) passwords, passwords built on a
// context-specific word (NIST SP 800-63B-4 §3.1.1.2, ASVS V6.2.11): the service's name, the
// person's name or e-mail address, as ContextWords gives them, and passwords too easy to guess.
//
// A password that merely contains a context word is fine ("dana's purple harbour sunrise"); one
// where the word does the work is not: with every context word taken out, fewer than MinLength
// letters remain, or what remains is itself a common password ("Whitfield2026!",
// "havenpassword").
//
// Too easy to guess means the zxcvbn estimator (github.com/trustelem/zxcvbn), told the context
// words, expects fewer than MinGuesses guesses: this catches the variations of common passwords
// an exact list misses (capitals, appended digits and symbols, look-alike letters, as in
// "Password1!" or "iloveyou1234"), keyboard walks, repeats and dates. It imposes no composition
// rule: a few ordinary words pass.
func CheckPolicy(pw string, contextWords ...string) error {
	if !utf8.ValidString(pw) {
		return ErrPolicy{"it is not valid text"}
	}
	normal := Normalize(pw)
	n := utf8.RuneCountInString(normal)
	if n < MinLength {
		return ErrPolicy{fmt.Sprintf("use at least %d characters", MinLength)}
	}
	if n > MaxLength {
		return ErrPolicy{fmt.Sprintf("use at most %d characters", MaxLength)}
	}
	lower := strings.ToLower(normal)
	if _, found := commonPasswords()[lower]; found {
		return ErrPolicy{"it is one of the most commonly used passwords, which attackers try first; choose another"}
	}
	if leansOn(lower, contextWords) {
		return ErrPolicy{"it is built on your name, your e-mail address or the name of this service, which attackers try first; choose another"}
	}
	if reason, weak := guessable(normal, contextWords); weak {
		return ErrPolicy{"this password is too easy to guess: " + reason + "; add a few words that only you would put together"}
	}
	return nil
}

// leansOn reports whether a lower-cased password is mostly context words: with them removed,
// too few letters remain or the rest is a common password.
func leansOn(lower string, words []string) bool {
	rest, found := lower, false
	for _, w := range words {
		if strings.Contains(rest, w) {
			rest, found = strings.ReplaceAll(rest, w, " "), true
		}
	}
	if !found {
		return false
	}
	letters := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, rest)
	if utf8.RuneCountInString(letters) < MinLength {
		return true
	}
	_, common := commonPasswords()[strings.TrimFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) })]
	return common
}

// ContextWords turns what a service knows about a person and itself (names, an e-mail address,
// the service's name) into the lower-cased words CheckPolicy refuses to build a password on:
// every run of letters or digits of three characters or more, except an address's top-level
// domain ("com", "org") which is in everyone's address.
func ContextWords(values ...string) []string {
	var words []string
	for _, v := range values {
		v = strings.ToLower(Normalize(v))
		if local, domain, ok := strings.Cut(v, "@"); ok {
			if i := strings.LastIndexByte(domain, '.'); i >= 0 {
				domain = domain[:i]
			}
			v = local + " " + domain
		}
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if utf8.RuneCountInString(w) >= 3 && !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
	}
	return words
}

// Length is how many characters pw has after normalising, the count the policy applies to.
func Length(pw string) int { return utf8.RuneCountInString(Normalize(pw)) }

// commonPasswords is the zxcvbn password frequency list (about 30,000 of the most common
// passwords from breach corpora), shipped by github.com/trustelem/zxcvbn, as a set. It is built
// once, on first use, and never changed.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, p := range list {
		set[strings.ToLower(p)] = struct{}{}
	}
	return set
})

// CommonPasswordCount is how many passwords the list refuses.
func CommonPasswordCount() int { return len(commonPasswords()) }

// Hasher hashes and verifies with bounded concurrency.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string
	mu     sync.Mutex
	runs   map[Params]uint64 // argon2id evaluations by cost parameters
}

// Runs reports how many argon2id evaluations ran at cost parameters p: real hashes and the
// dummy alike, which is how a test proves that an unknown account costs what a known one does.
func (h *Hasher) Runs(p Params) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs[p]
}

func (h *Hasher) idKey(pw string, salt []byte, p Params, n uint32) []byte {
	h.mu.Lock()
	h.runs[p]++
	h.mu.Unlock()
	return argon2.IDKey([]byte(Normalize(pw)), salt, p.Time, p.MemoryKiB, p.Threads, n)
}

// DefaultConcurrency is how many hashes a Hasher runs at once unless told otherwise: half of
// GOMAXPROCS (which follows the container's CPU limit), and at least one.
func DefaultConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// NewHasher returns a Hasher that runs at most concurrency hashes at a time
// (DefaultConcurrency if concurrency is zero or less).
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, concurrency), runs: map[Params]uint64{}}
	// A hash of a random password, verified against when the account does not exist, so that
	// an unknown account costs the same time as a wrong password.
	var b [16]byte
	rand.Read(b[:])
	h.dummy = h.encode(b[:], p, argon2.IDKey(b[:], b[:], p.Time, p.MemoryKiB, p.Threads, keyLen))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting to hash: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string for pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := h.idKey(pw, salt, h.params, keyLen)
	return h.encode(salt, h.params, key), nil
}

func (h *Hasher) encode(salt []byte, p Params, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether pw matches the PHC string encoded. An empty encoded (an unknown
// account, or one without a password yet) verifies against a dummy hash and reports false, in
// the same time.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	useDummy := encoded == ""
	if useDummy {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := h.idKey(pw, salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1 && !useDummy, nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if p.MemoryKiB == 0 || p.Time == 0 || p.Threads == 0 || p.MemoryKiB > 1<<22 || p.Time > 64 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
