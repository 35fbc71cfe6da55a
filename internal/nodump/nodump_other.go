//go:build !unix && !windows

package nodump

// Apply does nothing where there is no core file size limit to set.
func Apply() error { return nil }
