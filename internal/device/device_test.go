package device

import "testing"

func TestParseSerial(t *testing.T) {
	tests := []struct{ serial, path, name string }{
		{"arn:aws:iam::123456789012:mfa/alice", "/", "alice"},
		{"arn:aws:iam::123456789012:mfa/cohorts/2026-q4/bob", "/cohorts/2026-q4/", "bob"},
	}
	for _, tt := range tests {
		path, name, err := ParseSerial(tt.serial)
		if err != nil || path != tt.path || name != tt.name {
			t.Errorf("ParseSerial(%q) = %q, %q, %v; want %q, %q", tt.serial, path, name, err, tt.path, tt.name)
		}
	}
	for _, bad := range []string{"", "alice", "arn:aws:iam::1:user/alice", "arn:aws:iam::1:mfa/a/"} {
		if _, _, err := ParseSerial(bad); err == nil {
			t.Errorf("ParseSerial(%q) succeeded, want error", bad)
		}
	}
}
