package planfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// A saved plan whose components were edited without its fingerprint says
// the file was edited, not a list of changes the file invented.
func TestCheckEditedComponents(t *testing.T) {
	was := inputs()
	c := Components(was)
	edited := File{Fingerprint: Fingerprint(c), Components: Components(was)}
	edited.Components["tool version"] = "v9\x1b[2K"
	edited.Components["IAM device arn:aws:iam::1:mfa/ghost"] = "x"
	err := edited.Check(Fingerprint(c), c)
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "the file was edited") || strings.Contains(err.Error(), "ghost") || strings.Contains(err.Error(), "v9") {
		t.Errorf("components edited without their fingerprint: %v, want only that the file was edited", err)
	}
	accounts := File{AccountFingerprints: map[string]string{"1": Fingerprint(c)}, AccountComponents: map[string]map[string]string{"1": edited.Components}}
	accounts.Fingerprint = AccountsFingerprint(accounts.AccountFingerprints)
	accounts.Accounts = new(jsonplan.Accounts)
	err = accounts.CheckAccounts(map[string]string{"1": Fingerprint(c)}, map[string]map[string]string{"1": c})
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "account 1: its components do not match its fingerprint (the file was edited)") || strings.Contains(err.Error(), "ghost") {
		t.Errorf("an account's components edited without its fingerprint: %v", err)
	}
}

func writeFile(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Read takes the manifests only as plan --out writes them: each cleaned.
// "sub/../m.yaml" passes a cleaned comparison with -f m.yaml but, with sub
// a symlink, names another file.
func TestReadRefusesUncleanManifests(t *testing.T) {
	for _, m := range []string{`"sub/../m.yaml"`, `""`, `"./m.yaml"`, `"iam/"`, `"a//b"`} {
		path := writeFile(t, `{"format_version":"3","fingerprint":"ab","manifests":[`+m+`],"components":{},"plan":{}}`)
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "is not a clean path") {
			t.Errorf("manifests [%s]: %v, want not a clean path", m, err)
		}
	}
	for _, m := range []string{`"m.yaml"`, `"../iam"`, `"/abs/iam"`, `"."`} {
		path := writeFile(t, `{"format_version":"3","fingerprint":"ab","manifests":[`+m+`],"components":{},"plan":{}}`)
		if _, err := Read(path); err != nil {
			t.Errorf("manifests [%s]: %v", m, err)
		}
	}
}

// Empty objects amplify ~70 times when unmarshalled into plan changes:
// Read counts a file's JSON containers before it decodes, and refuses a
// file of too many. (No timing asserted: the refusal is.)
func TestReadRefusesContainerBomb(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"format_version":"3","fingerprint":"ab","manifests":["m.yaml"],"components":{},"plan":{"changes":[`)
	for i := range MaxContainers + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]}}`)
	if b.Len() > MaxSize {
		t.Fatalf("the hostile file is %d bytes, over MaxSize: it tests the size bound, not the count", b.Len())
	}
	_, err := Read(writeFile(t, b.String()))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d JSON objects and arrays", MaxContainers)) {
		t.Errorf("a plan of %d empty changes: %v, want refused for its objects", MaxContainers+1, err)
	}
	// Braces inside strings are text, not containers.
	s := `{"format_version":"3","fingerprint":"ab","manifests":["m.yaml"],"components":{"k":"` + strings.Repeat(`{[\"`, MaxContainers/2) + `"},"plan":{}}`
	if _, err := Read(writeFile(t, s)); err != nil {
		t.Errorf("braces in a string counted: %v", err)
	}
}
