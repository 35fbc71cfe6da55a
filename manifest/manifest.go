// Package manifest reads and validates mfabulk's YAML manifests.
//
// Call [Load] with a manifest's path. It returns the devices with every
// default applied and every outfile resolved, or a [Diagnostics] error that
// lists every problem in the file, each with its file:line:col, so that a
// manifest can be fixed in one pass and nothing reaches AWS until it is
// valid.
package manifest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/mfabulk/mfabulk/device"
)

// MaxFileSize bounds what Load reads, so that a huge or hostile file
// cannot exhaust memory.
const MaxFileSize = 4 << 20

// DefaultOutfile is the outfile template used when neither defaults nor a
// device names one.
const DefaultOutfile = "out/{{.Name}}{{.Ext}}.age"

// Manifest is a validated manifest.
type Manifest struct {
	File    string   // the manifest's path, as given
	Root    string   // absolute folder that outfiles are relative to
	Devices []Device // in manifest order
}

// Device is one desired virtual MFA device with every default applied.
type Device struct {
	Name       string
	Path       string
	Bootstrap  string            // device.QRCodePNG or device.Base32StringSeed
	Outfile    string            // absolute path of the age-encrypted outfile
	Recipients []string          // normalized, duplicates removed, defaults first
	Tags       map[string]string // nil or empty when the device has none
	Pos        Pos               // where the device is declared
}

// Load reads, validates and resolves the manifest at path. When the
// manifest has problems the error is a [Diagnostics] holding all of them.
func Load(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	root, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return Parse(path, root, data)
}

// Parse validates manifest data as if read from file, resolving outfiles
// against root.
func Parse(file, root string, data []byte) (*Manifest, error) {
	c := &collector{file: file}
	m := &Manifest{File: file, Root: root}
	switch {
	case len(data) > MaxFileSize:
		c.at(1, 1, "file-size", "manifest is larger than %d bytes", MaxFileSize)
	case !utf8.Valid(data):
		line, col := firstInvalidUTF8(data)
		c.at(line, col, "file-encoding", "manifest is not valid UTF-8")
	default:
		raw := c.parse(data)
		if raw != nil {
			m.Devices = c.resolve(raw, root)
		}
	}
	if len(c.diags) > 0 {
		c.diags.sort()
		return nil, c.diags
	}
	return m, nil
}

func (c *collector) parse(data []byte) *rawManifest {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.at(1, 1, "file-empty", "manifest is empty: want at least \"version: 1\" and \"devices:\"")
		} else {
			line := yamlErrorLine(err)
			c.at(line, 1, "yaml-syntax", "%s", trimYAMLError(err))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		c.at(extra.Line, extra.Column, "yaml-multi-document", "manifest must be a single YAML document")
	}
	if len(doc.Content) == 0 {
		c.at(1, 1, "file-empty", "manifest is empty: want at least \"version: 1\" and \"devices:\"")
		return nil
	}
	return c.walk(doc.Content[0])
}

func firstInvalidUTF8(b []byte) (line, col int) {
	line, col = 1, 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		b = b[size:]
	}
	return line, col
}

// Ext is exported to templates as .Ext; kept here to tie it to bootstrap.
func ext(bootstrap string) string { return device.Extension(bootstrap) }
