package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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
	data, err := readRecipientsFile(path)
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

// readRecipientsFile reads at most maxRecipientsFile bytes of a regular
// file, so that a device file or a huge file cannot hang or exhaust memory.
func readRecipientsFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRecipientsFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecipientsFile {
		return nil, fmt.Errorf("larger than %d bytes", maxRecipientsFile)
	}
	return data, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
