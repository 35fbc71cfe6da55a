package enroll

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/totp"
)

// Window is how many 30-second steps either side of the local clock the
// second code may be from: IAM's own tolerance, enough for a person's
// typing and some clock skew.
const Window = 2

var (
	// ErrCodeForm is a code that is not six digits.
	ErrCodeForm = fmt.Errorf("a code is %d digits", totp.Digits)
	// ErrCodesMismatch is two codes that are not consecutive codes of the
	// seed near this computer's time.
	ErrCodesMismatch = errors.New("the codes are not two consecutive codes of this device's secret at this computer's time")
	// ErrNoCodes is the end of the input before two codes were read.
	ErrNoCodes = errors.New("no codes given: the input ended")
)

// AskCodes asks for two consecutive codes, writing each prompt to w and
// reading each code as a line of r, spaces trimmed (so that "123 456",
// as some apps show a code, is read as 123456).
func AskCodes(r *bufio.Reader, w io.Writer) (first, second string, err error) {
	if first, err = askCode(r, w, "Code 1: "); err != nil {
		return "", "", err
	}
	if second, err = askCode(r, w, "Code 2: "); err != nil {
		return "", "", err
	}
	return first, second, nil
}

func askCode(r *bufio.Reader, w io.Writer, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	line, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		if err == io.EOF {
			return "", ErrNoCodes
		}
		return "", fmt.Errorf("reading a code: %w", err)
	}
	return strings.Join(strings.Fields(line), ""), nil
}

// Check checks, locally, that first and second are two consecutive codes
// of seed with second within [Window] steps of now: a mistyped code is
// refused here, before any request to IAM. Its errors never quote a code.
func Check(seed []byte, first, second string, now time.Time) error {
	for _, c := range []string{first, second} {
		if len(c) != totp.Digits || strings.Trim(c, "0123456789") != "" {
			return ErrCodeForm
		}
	}
	if !totp.Verify(seed, first, second, now, Window) {
		if first == second {
			return fmt.Errorf("%w (the two are the same: wait for the app to show the next code)", ErrCodesMismatch)
		}
		return ErrCodesMismatch
	}
	return nil
}
