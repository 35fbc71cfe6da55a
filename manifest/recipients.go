package manifest

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxRecipientsFile bounds a recipients file, as MaxFileSize does manifests.
const maxRecipientsFile = 1 << 20

// recipientsFile reads a file in age's recipients-file format (one
// recipient a line, blank lines and # comments allowed), relative to the
// manifest's folder, and passes each recipient to add. Problems point at
// the manifest line naming the file, and say the file's own line.
func (c *collector) recipientsFile(n *yaml.Node, root string, add func(string, func(error))) {
	path := n.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > maxRecipientsFile {
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s is larger than %d bytes", n.Value, maxRecipientsFile)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s: %v", n.Value, unwrapPathError(err))
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxRecipientsFile)
	found := false
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		found = true
		add(text, func(err error) {
			c.at(n.Line, n.Column, "recipient", "recipients file %s, line %d: %v", n.Value, line, err)
		})
	}
	if !found {
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s has no recipients", n.Value)
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
