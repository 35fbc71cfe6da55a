//go:build windows

package main

// noFollow is 0 on Windows: mfabulk creates with os.O_CREATE|os.O_EXCL,
// which is CREATE_NEW, and that fails on anything at the path, a link
// too, instead of following it; handles are not inherited by default.
const noFollow = 0

// checkWritable does not check on Windows, where whether a folder can be
// written is decided by its ACL: plan does not warn, and apply's probe
// (a temporary file made and removed before any change in IAM) finds out.
func checkWritable(path string) error { return nil }
