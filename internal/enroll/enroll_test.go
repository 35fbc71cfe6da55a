package enroll

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"time"

	"rsc.io/qr"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/qrterm"
	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/totp"
)

const seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func qrPNG(t *testing.T, text string, level qr.Level) []byte {
	t.Helper()
	c, err := qr.Encode(text, level)
	if err != nil {
		t.Fatal(err)
	}
	return c.PNG()
}

// TestReadQR reads back what rsc.io/qr (iamlocal's encoder) wrote, at
// every level, from one block (version 1) to many (version 10 and more,
// whose counts are wider).
func TestReadQR(t *testing.T) {
	texts := []string{
		"HELLO",
		"otpauth://totp/alice@123456789012?secret=" + seed,
		"otpauth://totp/Amazon%20Web%20Services:alice@123456789012?secret=" + seed + "&issuer=Amazon%20Web%20Services",
		strings.Repeat("otpauth://totp/x?secret="+seed, 6),
	}
	for _, text := range texts {
		for _, level := range []qr.Level{qr.L, qr.M, qr.Q, qr.H} {
			grid, err := qrterm.Decode(qrPNG(t, text, level))
			if err != nil {
				t.Fatal(err)
			}
			got, err := readQR(grid)
			if err != nil || string(got) != text {
				t.Errorf("level %d, version %d: readQR = %q, %v; want %q", level, (len(grid)-17)/4, got, err, text)
			}
		}
	}
}

func TestReadQRRefusesAMisread(t *testing.T) {
	grid, _ := qrterm.Decode(qrPNG(t, "otpauth://totp/alice@123456789012?secret="+seed, qr.M))
	n := len(grid)
	grid[n-1][n-1] = !grid[n-1][n-1] // a data module
	if got, err := readQR(grid); err == nil {
		t.Fatalf("a damaged code was read as %q", got)
	} else if strings.Contains(err.Error(), seed) {
		t.Fatal("the error quotes the seed")
	}
}

func TestOpen(t *testing.T) {
	for _, tt := range []struct {
		uri, name, account string
	}{
		{"otpauth://totp/alice@123456789012?secret=" + seed, "alice", "123456789012"},
		{"otpauth://totp/Amazon%20Web%20Services:bob.smith@example.com@123456789012?secret=" + seed + "&issuer=Amazon%20Web%20Services", "bob.smith@example.com", "123456789012"},
	} {
		s, err := Open(qrPNG(t, tt.uri, qr.M), "out/whatever.png.age")
		if err != nil {
			t.Fatal(err)
		}
		if string(s.Seed) != seed || s.Name != tt.name || s.Account != tt.account || s.NameFromFile || s.QR == nil {
			t.Errorf("%s: got name %q account %q fromFile %v", tt.uri, s.Name, s.Account, s.NameFromFile)
		}
		s.Wipe()
		if strings.Trim(string(s.Seed), "\x00") != "" {
			t.Error("Wipe left the seed")
		}
	}
	s, err := Open([]byte(seed), "out/carol.txt.age")
	if err != nil || string(s.Seed) != seed || s.Name != "carol" || !s.NameFromFile || s.QR != nil {
		t.Errorf("Base32 outfile: %+v, %v", s, err)
	}
	for _, bad := range []string{"otpauth://hotp/a@1?secret=" + seed, "otpauth://totp/a@1?issuer=x", "https://example.com/?secret=" + seed} {
		if _, err := Open(qrPNG(t, bad, qr.M), "x.png.age"); err == nil {
			t.Errorf("%s accepted", bad)
		} else if strings.Contains(err.Error(), seed) {
			t.Errorf("%s: the error quotes the seed", bad)
		}
	}
	if _, err := Open([]byte("not a seed!"), "x.txt.age"); err == nil {
		t.Error("junk accepted as a seed")
	}
}

func TestMatch(t *testing.T) {
	dev := func(path, name, user string) device.Observed {
		return device.Observed{Serial: device.SerialFor("", "123456789012", path, name), Name: name, Path: path, User: user}
	}
	devs := []device.Observed{dev("/", "alice", ""), dev("/", "bob", "bob"), dev("/a/", "carol", ""), dev("/b/", "carol", ""), dev("/", "Dave", "")}
	if d, err := Match(devs, "ALICE", "123456789012"); err != nil || d.Name != "alice" {
		t.Errorf("alice: %v, %v", d, err)
	}
	if d, err := Match(devs, "dave", ""); err != nil || d.Name != "Dave" {
		t.Errorf("dave: %v, %v", d, err)
	}
	for name, want := range map[string]string{
		"bob":   "already assigned to user bob",
		"carol": "2 unassigned devices",
		"erin":  "no unassigned virtual MFA device",
	} {
		_, err := Match(devs, name, "")
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if _, err := Match(devs, "alice", "999999999999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's label matched: %v", err)
	}
}

// TestCheck checks codes from the reference oathtool, for the step before
// now and now, as a person types them from an app.
func TestCheck(t *testing.T) {
	now := time.Now()
	c1 := reftools.OathTOTP(t, seed, now.Add(-totp.Step).Unix())
	c2 := reftools.OathTOTP(t, seed, now.Unix())
	if err := Check([]byte(seed), c1, c2, now); err != nil {
		t.Errorf("right codes: %v", err)
	}
	if err := Check([]byte(seed), c2, c1, now); !errors.Is(err, ErrCodesMismatch) {
		t.Errorf("swapped codes: %v", err)
	}
	wrong := []byte(c2)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	if err := Check([]byte(seed), c1, string(wrong), now); !errors.Is(err, ErrCodesMismatch) || strings.Contains(err.Error(), c1) {
		t.Errorf("mistyped code: %v", err)
	}
	if err := Check([]byte(seed), c1, c2, now.Add(10*time.Minute)); !errors.Is(err, ErrCodesMismatch) {
		t.Errorf("stale codes: %v", err)
	}
	if err := Check([]byte(seed), c1, "12345", now); !errors.Is(err, ErrCodeForm) {
		t.Errorf("five digits: %v", err)
	}
}

func TestAskCodes(t *testing.T) {
	var prompts strings.Builder
	c1, c2, err := AskCodes(bufio.NewReader(strings.NewReader(" 123 456 \n654321")), &prompts)
	if err != nil || c1 != "123456" || c2 != "654321" {
		t.Errorf("AskCodes = %q, %q, %v", c1, c2, err)
	}
	if !strings.Contains(prompts.String(), "Code 1: ") || !strings.Contains(prompts.String(), "Code 2") {
		t.Errorf("prompts: %q", prompts.String())
	}
	if _, _, err := AskCodes(bufio.NewReader(strings.NewReader("123456\n")), &prompts); !errors.Is(err, ErrNoCodes) {
		t.Errorf("one code: %v", err)
	}
}
