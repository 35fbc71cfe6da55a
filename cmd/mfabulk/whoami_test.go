package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestWhoamiEscapesItsAnswer: an endpoint a checkout's ./mfabulk.yaml
// names answers GetCallerIdentity with an ARN holding a CR, a bidi
// override and a C1 CSI; whoami prints them escaped, on their own line.
func TestWhoamiEscapesItsAnswer(t *testing.T) {
	var out bytes.Buffer
	arn := "arn:aws:iam::123456789012:user/x\rARN:   arn:aws:iam::123456789012:user/admin\u202e\u009b2K"
	if err := whoamiText(&out, "123456789012\x1b[2K", arn, "us-east-1", "http://127.0.0.1:1/\r", "environment"); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\r\x1b\u202e\u009b") {
		t.Errorf("whoami printed a raw control or format character:\n%q", s)
	}
	if !strings.Contains(s, `user/x\rARN:   arn:aws:iam::123456789012:user/admin\u202e\u009b2K`) {
		t.Errorf("the ARN is not shown escaped:\n%s", s)
	}
}
