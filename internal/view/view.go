// Package view renders plans and apply progress for people. It only
// formats: every number and decision comes from the plan and apply values.
package view

import (
	"os"
	"path/filepath"
	"strings"
)

// Rel shows an outfile relative to the working folder when it is inside
// it, as a user typed it, and absolute otherwise.
func Rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return r
}
