package totp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// rfcSeed is RFC 6238 Appendix B's SHA1 key "12345678901234567890" in Base32.
const rfcSeed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// iamSeed is shaped like IAM's Base32StringSeed: 40 bytes, 64 characters,
// upper case, no padding. It is a test value, not a secret.
const iamSeed = "A4EASCQLBQGQ4DYQCEJBGFAVCYLRQGI2DMOB2HQ7EAQSEIZEEUTCOKBJFIVSYLJO"

// TestRFC6238AppendixB checks the SHA1 vectors; the RFC prints 8 digits,
// and 6-digit codes are the same truncated value modulo 10^6: the last 6.
func TestRFC6238AppendixB(t *testing.T) {
	for _, v := range []struct {
		unix  int64
		eight string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := totp.Code([]byte(rfcSeed), time.Unix(v.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if want := v.eight[2:]; got != want {
			t.Errorf("T=%d: code %s, want %s", v.unix, got, want)
		}
	}
}

// TestCodeMatchesOathtool compares codes with the reference oathtool at
// fixed times, step boundaries included.
func TestCodeMatchesOathtool(t *testing.T) {
	times := []int64{0, 1, 29, 30, 31, 59, 60, 89, 90, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000,
		1111111079, 1234567860, 1999999970, 19999999970} // and 30 s before, for TestPair
	for _, seed := range []string{rfcSeed, iamSeed, "JBSWY3DPEHPK3PXP"} {
		for _, u := range times {
			want := reftools.OathTOTP(t, seed, u)
			got, err := totp.Code([]byte(seed), time.Unix(u, 0))
			if err != nil {
				t.Fatalf("T=%d: %v", u, err)
			}
			if got != want {
				t.Errorf("seed %.8s…, T=%d: code %s, oathtool %s", seed, u, got, want)
			}
		}
	}
}

// TestStepBoundaries: a code holds for exactly the 30 seconds of its step.
func TestStepBoundaries(t *testing.T) {
	code := func(u int64) string {
		c, err := totp.Code([]byte(iamSeed), time.Unix(u, 999_999_999))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if code(0) != code(29) || code(30) != code(59) || code(60) != code(89) {
		t.Error("a code changed inside its step")
	}
	if code(29) == code(30) || code(59) == code(60) {
		t.Error("a code did not change at a step boundary") // 1 in 10^6 by chance; not with this seed
	}
	for _, c := range []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := totp.Counter(time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("Counter(%d) = %d, want %d", c.unix, got, c.want)
		}
	}
}

// TestSeedForms: lower case and '=' padding read as the canonical seed;
// anything else is ErrSeed, whose message never quotes the seed.
func TestSeedForms(t *testing.T) {
	at := time.Unix(1234567890, 0)
	canon, _ := totp.Code([]byte(iamSeed), at)
	for _, s := range []string{strings.ToLower(iamSeed), "a4EAscqlbqgq4dyqcejbgfavcylrqgi2dmob2hq7eaqseizeeutcokbjfivsyljo", iamSeed + "\n", iamSeed[:32] + "\r\n" + iamSeed[32:]} {
		if got, err := totp.Code([]byte(s), at); err != nil || got != canon {
			t.Errorf("case or line breaks: %s, %v; want %s", got, err, canon)
		}
	}
	// "MZXW6" is 3 bytes; padded, it is "MZXW6===".
	a, err1 := totp.Code([]byte("MZXW6"), at)
	b, err2 := totp.Code([]byte("mzxw6===\n"), at)
	if err1 != nil || err2 != nil || a != b || a != reftools.OathTOTP(t, "MZXW6===", 1234567890) {
		t.Errorf("padding: %s %v, %s %v", a, err1, b, err2)
	}
	for _, bad := range []string{"", "====", "SECRET1!", "ABC DEF", "MZ=XW6", "01234567"} {
		_, err := totp.Code([]byte(bad), at)
		if !errors.Is(err, totp.ErrSeed) {
			t.Errorf("seed %q: err %v, want ErrSeed", bad, err)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error quotes the seed: %v", err)
		}
	}
	if _, err := totp.Code([]byte(iamSeed), time.Unix(-1, 0)); !errors.Is(err, totp.ErrTime) {
		t.Errorf("before the epoch: %v", err)
	}
}

// TestPair: the step before t's and t's, as terraform-provider-aws's
// acceptance test computes them from now-30s and now. (Code at these
// times is checked against oathtool above.)
func TestPair(t *testing.T) {
	for _, u := range []int64{30, 59, 60, 1111111109, 1234567890, 2000000000, 20000000000} {
		at := time.Unix(u, 0)
		first, second, err := totp.Pair([]byte(iamSeed), at)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := totp.Code([]byte(iamSeed), at.Add(-30*time.Second)); first != want {
			t.Errorf("T=%d: first %s, code at T-30 %s", u, first, want)
		}
		if want, _ := totp.Code([]byte(iamSeed), at); second != want {
			t.Errorf("T=%d: second %s, code at T %s", u, second, want)
		}
	}
	if _, _, err := totp.Pair([]byte(iamSeed), time.Unix(29, 0)); !errors.Is(err, totp.ErrTime) {
		t.Errorf("Pair in the first step: %v, want ErrTime (there is no step before it)", err)
	}
	if _, _, err := totp.Pair([]byte("not base32!"), time.Unix(60, 0)); !errors.Is(err, totp.ErrSeed) {
		t.Errorf("Pair of a bad seed: %v", err)
	}
}

// TestVerify: two consecutive codes, the second's step within the window
// of t's step, in order, and nothing else.
func TestVerify(t *testing.T) {
	seed := []byte(iamSeed)
	issued := time.Unix(1234567890, 0)
	first, second, err := totp.Pair(seed, issued)
	if err != nil {
		t.Fatal(err)
	}
	step := totp.Counter(issued)
	code := func(c int64) string {
		s, err := totp.Code(seed, time.Unix(c*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name          string
		first, second string
		at            time.Time
		window        int
		want          bool
	}{
		{"same step, window 0", first, second, issued, 0, true},
		{"same step, window 2", first, second, issued, 2, true},
		{"a step later, window 0", first, second, issued.Add(totp.Step), 0, false},
		{"a step later, window 1", first, second, issued.Add(totp.Step), 1, true},
		{"a step earlier, window 1", first, second, issued.Add(-totp.Step), 1, true},
		{"two steps later, window 2", first, second, issued.Add(2 * totp.Step), 2, true},
		{"three steps later, window 2", first, second, issued.Add(3 * totp.Step), 2, false},
		{"ten minutes later, window 2", first, second, issued.Add(10 * time.Minute), 2, false},
		{"negative window is 0", first, second, issued, -3, true},
		{"swapped", second, first, issued, 2, false},
		{"the same code twice", second, second, issued, 2, false},
		{"not consecutive", code(step - 2), second, issued, 2, false},
		{"consecutive, reversed steps", code(step + 1), code(step), issued, 2, false},
		{"next pair", second, code(step + 1), issued, 1, true},
		{"five digits", first[:5], second, issued, 2, false},
		{"seven digits", first + "0", second, issued, 2, false},
		{"not digits", "12345a", second, issued, 2, false},
		{"empty", "", "", issued, 2, false},
	} {
		if got := totp.Verify(seed, c.first, c.second, c.at, c.window); got != c.want {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.want)
		}
	}
	if totp.Verify([]byte("not base32!"), first, second, issued, 2) {
		t.Error("a malformed seed verified codes")
	}
	if got, ok := totp.Match(seed, first, second, issued.Add(totp.Step), 2); !ok || got != step {
		t.Errorf("Match = %d, %v; want step %d", got, ok, step)
	}
	// In the first steps there is no step before, and nothing to match.
	f0, _ := totp.Code(seed, time.Unix(0, 0))
	s0, _ := totp.Code(seed, time.Unix(30, 0))
	if !totp.Verify(seed, f0, s0, time.Unix(0, 0), 1) || totp.Verify(seed, f0, s0, time.Unix(0, 0), 0) {
		t.Error("the pair of steps 0 and 1 verifies at T=0 with window 1 only")
	}
}

// TestSeedNotModified: the caller's seed bytes are read, never wiped or
// changed; only the package's own copies are.
func TestSeedNotModified(t *testing.T) {
	seed := []byte(strings.ToLower(iamSeed) + "==")
	before := string(seed)
	totp.Code(seed, time.Unix(90, 0))
	totp.Pair(seed, time.Unix(90, 0))
	totp.Verify(seed, "123456", "654321", time.Unix(90, 0), 2)
	if string(seed) != before {
		t.Error("the caller's seed was changed")
	}
}
