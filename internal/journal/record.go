package journal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
)

// Record is written beside an outfile once it is durable: which device,
// in which account, the outfile's secret belongs to. The create ID is the
// one the device was tagged with, so that a later plan can tell an outfile
// whose device was since deleted and recreated by another run. It holds no
// secret.
type Record struct {
	Account  string    `json:"account"`
	Device   string    `json:"device"`
	Path     string    `json:"path"`
	Serial   string    `json:"serial"`
	CreateID string    `json:"create_id"`
	Created  time.Time `json:"created"`
}

// RecordName returns the record's file name for an outfile's name.
func RecordName(outName string) string { return "." + outName + ".id" }

// NewCreateID returns a random create ID: 128 bits, hex, which IAM's tag
// value pattern accepts.
func NewCreateID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: since Go 1.24 a broken source crashes the program
	return hex.EncodeToString(b[:])
}

// WriteRecord records, durably, whose secret the outfile outName holds.
// It replaces an earlier record of the same outfile name (a replaced
// device's), and nothing that is not a record.
func WriteRecord(dir *atomicfile.Dir, outName string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return dir.ReplaceOwn(RecordName(outName), append(b, '\n'), func(data []byte) bool {
		var old Record
		return json.Unmarshal(data, &old) == nil && old.CreateID != ""
	})
}

// ReadRecord reads the record of outfile outName; nil when there is none
// or it cannot be trusted (not a regular file of the caller's with one
// link, too large, malformed).
func ReadRecord(dir *atomicfile.Dir, outName string) (*Record, error) {
	f, err := dir.OpenFile(RecordName(outName), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading outfile record: %w", err)
	}
	defer f.Close()
	if atomicfile.CheckOwnFile(f) != nil {
		return nil, nil
	}
	var r Record
	data, err := readBounded(f)
	if err != nil || json.Unmarshal(data, &r) != nil || r.CreateID == "" {
		return nil, nil
	}
	return &r, nil
}
