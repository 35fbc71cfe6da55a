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

func TestSerialFor(t *testing.T) {
	tests := []struct{ partition, path, name, want string }{
		{"", "/", "alice", "arn:aws:iam::123456789012:mfa/alice"},
		{"aws", "/cohorts/2026-q4/", "bob", "arn:aws:iam::123456789012:mfa/cohorts/2026-q4/bob"},
		{"aws-cn", "/", "carol", "arn:aws-cn:iam::123456789012:mfa/carol"},
	}
	for _, tt := range tests {
		got := SerialFor(tt.partition, "123456789012", tt.path, tt.name)
		if got != tt.want {
			t.Errorf("SerialFor(%q, %q, %q) = %q, want %q", tt.partition, tt.path, tt.name, got, tt.want)
		}
		if path, name, err := ParseSerial(got); err != nil || path != tt.path || name != tt.name {
			t.Errorf("ParseSerial(%q) = %q, %q, %v; want its inverse", got, path, name, err)
		}
	}
	if got, want := UserARN("", "123456789012", "/", "alice"), "arn:aws:iam::123456789012:user/alice"; got != want {
		t.Errorf("UserARN = %q, want %q", got, want)
	}
}
