package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/view"
)

// Exit codes, as terraform's -detailed-exitcode has them, and 130 (see
// exitInterrupted) when Ctrl-C stopped the command.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

// exitCodeError ends a command with a code whose message, if any, was
// already printed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hintError carries an error with a hint telling the user what to do.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// exitCode turns a command's error into an exit code, printing it in the
// one format mfabulk uses: "mfabulk: error: …" then "mfabulk: hint: …".
func exitCode(err error, streams IO) int {
	if err == nil {
		return exitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	fmt.Fprintf(streams.Err, "mfabulk: error: %s\n", printable(err))
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(streams.Err, "mfabulk: hint: %s\n", view.Message(hint))
	}
	if errors.Is(err, errInterrupted) || errors.Is(err, context.Canceled) || streams.Interrupts.interrupted() {
		return exitInterrupted
	}
	return exitError
}

// printable is an error's message as the terminal may show it: it can
// quote file names, YAML values and AWS answers, so every non-printable
// rune is escaped (view.Message: as view.Text, but a backslash stays one,
// since messages quote their values with %q already and escaping again
// would double every escape), line breaks included, except those of
// mfabulk's own messages of one problem a line (a manifest's diagnostics,
// apply's preflight problems, errors.Join), which keep their lines while
// each line is escaped.
func printable(err error) string {
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		raw, escaped := ownLines(e)
		if raw == nil {
			continue
		}
		joined := strings.Join(raw, "\n")
		if i := strings.Index(msg, joined); i >= 0 {
			return view.Message(msg[:i]) + strings.Join(escaped, "\n") + view.Message(msg[i+len(joined):])
		}
	}
	return view.Message(msg)
}

// ownLines are the lines of an error mfabulk writes one problem a line,
// as written and escaped; nil for any other error.
func ownLines(e error) (raw, escaped []string) {
	switch x := e.(type) {
	case manifest.Diagnostics:
		for _, d := range x {
			raw, escaped = append(raw, d.String()), append(escaped, view.Message(d.String()))
		}
	case *apply.PreflightError:
		for _, p := range x.Problems {
			raw, escaped = append(raw, p.Error()), append(escaped, printable(p))
		}
	case interface{ Unwrap() []error }:
		for _, p := range x.Unwrap() {
			if p != nil {
				raw, escaped = append(raw, p.Error()), append(escaped, printable(p))
			}
		}
	}
	return raw, escaped
}

// hintFor maps an error to advice, in one place.
func hintFor(err error) string {
	var h hintError
	if errors.As(err, &h) {
		return h.hint
	}
	var pre *apply.PreflightError
	if errors.As(err, &pre) {
		return "nothing was created; fix the problems above and run apply again"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, errInterrupted) {
		return "interrupted; run plan to see what was done"
	}
	if errors.Is(err, iamclient.ErrNoCredentials) {
		return "run `aws configure` to store access keys, or `aws sso login --profile NAME` and then set AWS_PROFILE=NAME (or pass --profile NAME)"
	}
	var notIAM *iamclient.NotIAMError
	if errors.As(err, &notIAM) {
		switch notIAM.Operation {
		case "", "GetCallerIdentity":
			return "check --endpoint-url, MFABULK_ENDPOINT_URL, AWS_ENDPOINT_URL_IAM and AWS_ENDPOINT_URL: the endpoint must be IAM's, or an emulator of it"
		case "ListMFADeviceTags", "TagMFADevice", "UntagMFADevice":
			return "the endpoint has no tag calls (moto_server has none): remove tags: from the manifest, so that mfabulk manages no tags, or use IAM or an emulator with tags (iamlocal)"
		}
		return fmt.Sprintf("mfabulk needs %s:%s: use IAM, or an emulator that implements it (iamlocal)", notIAM.Service, notIAM.Operation)
	}
	var ue *iamclient.UnreachableError
	if errors.As(err, &ue) {
		return "check the endpoint (--endpoint-url, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_IAM), the network and any proxy; nothing was read or changed"
	}
	var te *iamclient.TimeoutError
	if errors.As(err, &te) {
		if te.LastAnswer == "Throttling" {
			return view.CodeHint("Throttling", "") + "; or raise --call-timeout"
		}
		return fmt.Sprintf("check that the endpoint is reachable and answers (--endpoint-url, AWS_ENDPOINT_URL), or raise %s", te.Kind.Flag())
	}
	return view.CodeHint(iamclient.ErrorCode(err), "")
}
