package iamlocal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuditForeignDeletes: a delete signed by another key than the
// device's create is foreign; one by the same key, or of a device made
// out of band, is not.
func TestAuditForeignDeletes(t *testing.T) {
	srv := New(Options{})
	endpoint, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	call := func(key string, form url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", form.Get("Action"), resp.Status)
		}
	}
	create := func(key, name string) {
		call(key, url.Values{"Action": {"CreateVirtualMFADevice"}, "VirtualMFADeviceName": {name}})
	}
	del := func(key, name string) {
		call(key, url.Values{"Action": {"DeleteVirtualMFADevice"}, "SerialNumber": {"arn:aws:iam::" + DefaultAccount + ":mfa/" + name}})
	}
	create("AKIDA", "mine")
	del("AKIDA", "mine")
	create("AKIDA", "theirs")
	del("AKIDB", "theirs")
	create("AKIDB", "theirs") // the same name again, now B's
	del("AKIDB", "theirs")
	if err := srv.CreateDevice("outofband", "/"); err != nil {
		t.Fatal(err)
	}
	del("AKIDA", "outofband")

	if n := srv.ForeignDeletes(); n != 1 {
		t.Errorf("ForeignDeletes() = %d, want 1", n)
	}
	var got []string
	for _, e := range srv.Audit() {
		got = append(got, e.Action[:6]+" "+e.Device+" by "+e.Key+" of "+e.Creator)
	}
	want := []string{
		"Create mine by AKIDA of ", "Delete mine by AKIDA of AKIDA",
		"Create theirs by AKIDA of ", "Delete theirs by AKIDB of AKIDA",
		"Create theirs by AKIDB of ", "Delete theirs by AKIDB of AKIDB",
		"Delete outofband by AKIDA of ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
