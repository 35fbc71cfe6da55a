package manifest

import (
	"path/filepath"
	"strings"
)

// Location splits a device's outfile into the manifest's folder (base),
// the outfile's folder relative to it, and the outfile's name, so that
// mfabulk can open base once and reach the outfile without following any
// link on the way (see atomicfile.OpenDir).
func (d Device) Location() (base, dir, name string) {
	base, err := filepath.Abs(filepath.Dir(d.Pos.File))
	if err != nil {
		base = filepath.Dir(d.Outfile)
	}
	rel, err := filepath.Rel(base, filepath.Dir(d.Outfile))
	if d.Pos.File == "" || err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		// A device made by hand, not loaded: its outfile's folder is all
		// there is to open.
		return filepath.Dir(d.Outfile), ".", filepath.Base(d.Outfile)
	}
	return base, rel, filepath.Base(d.Outfile)
}
