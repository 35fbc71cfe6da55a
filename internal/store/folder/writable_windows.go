//go:build windows

package folder

// checkWritable does not check on Windows, where whether a folder can be
// written is decided by its ACL: plan does not warn, and apply's probe
// (a temporary file made and removed before any change in IAM) finds out.
func checkWritable(path string) error { return nil }
