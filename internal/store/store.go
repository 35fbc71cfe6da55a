// Package store is where mfabulk keeps what it knows about its devices:
// each device's age-encrypted outfile, the record that binds the outfile
// to the device (its create ID, with the proof, and the outfile's
// SHA-256), and the intent a run leaves before it calls IAM, so that a run
// that dies between IAM's answer and a durable outfile leaves a trace.
//
// Two backends keep them, behind the one protocol of a device's files
// ([Files], [Held]): a folder next to the manifest (internal/store/folder:
// a held-open directory, O_NOFOLLOW, link-then-unlink, flock'd intents) and
// an S3 bucket under a prefix (internal/store/s3store: conditional writes,
// leased intents renewed by compare-and-swap). A manifest names its store
// with `store: s3://BUCKET/PREFIX/`; without it, the folder.
// internal/store/stores opens the right backend for each device (by its
// manifest.Device.Store); nothing outside the store's packages knows which
// one it talks to.
//
// The protocol of one device, as apply runs it:
//
//	held := files.Begin(intent, seen)   // durable intent before IAM is called
//	held.MoveAside(stamp)               // a replaced device's old outfile
//	held.WriteOutfile(ciphertext)       // never overwrites
//	held.WriteRecord(record)            // bound to the outfile's SHA-256
//	held.ReplaceOutfile(ct, oldSHA256)  // a re-seal only: then WriteRecord
//	held.Done() or held.Keep()          // settle, or leave for the next plan
package store

import (
	"context"
	"errors"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// ErrExists is returned by [Held.WriteOutfile] when the outfile exists:
// mfabulk never overwrites one (the folder's O_EXCL link, S3's 412 to
// If-None-Match: *).
var ErrExists = errors.New("the outfile already exists; mfabulk never overwrites an outfile")

// ErrBusy and ErrChanged are [Files.Begin]'s refusals: another live run
// holds the intent (a flock, an unexpired lease), or the intent is no
// longer the one the plan saw.
var (
	ErrBusy    = journal.ErrBusy
	ErrChanged = journal.ErrChanged
)

// Seen is the intent a plan found for a device: see journal.Seen. Version
// is the backend's version of the intent object the plan read (S3: its
// ETag; the folder: ""), so that a takeover is of exactly that object.
type Seen struct {
	Present  bool
	CreateID string
	Version  string
}

// Evidence is what a store holds for one device, as a plan reads it.
type Evidence struct {
	// Outfile: something is at the outfile's name (a file, an object).
	Outfile bool
	// Record is the record at the outfile, when one is there and well
	// formed (nil otherwise); Proven when it proves its create ID and is
	// bound to the outfile's bytes as they are now (journal.Record.Proves).
	Record *journal.Record
	Proven bool
	// OutfileSHA256 is the hex SHA-256 of the outfile as it was read,
	// when it was (a proven record's outfile, one beside a re-seal's
	// intent); "" otherwise, or when it is no outfile the store can vouch
	// for.
	OutfileSHA256 string
	// Intent is the intent's state (None, Pending, Busy, Foreign), with
	// the intent when it could be read; IntentVersion is its version
	// (see [Seen]).
	Intent        journal.Status
	IntentVersion string
}

// Problem is something a store's preflight found: an error that stops
// every device of the store (or of one folder), or a warning that a plan
// shows and apply goes on with (versioning off but allowed, no default
// encryption).
type Problem struct {
	Device  string // the first device it concerns
	Err     error
	Warning bool
}

// Files is one device's files in its store.
type Files interface {
	// Where is the outfile's location for people: a path, or
	// s3://BUCKET/KEY.
	Where() string
	// Exists reports whether something is at the outfile's name.
	Exists(ctx context.Context) (bool, error)
	// MoveAside moves the outfile to a new name beside it (NAME.replaced-
	// STAMP), never overwriting anything, and returns where it went (as
	// Where says it). A crash midway leaves both names, never neither.
	MoveAside(ctx context.Context, stamp string) (string, error)
	// Begin durably records the intent and holds it, taking over one left
	// by an earlier run only when it is the one the plan saw (seen); see
	// journal.Begin for the rules both backends follow.
	Begin(ctx context.Context, in journal.Intent, seen Seen) (Held, error)
}

// Held is a device's intent, held by this run: nothing else writes the
// device's outfile or record while it is held.
type Held interface {
	Exists(ctx context.Context) (bool, error)
	MoveAside(ctx context.Context, stamp string) (string, error)
	// WriteOutfile durably writes a new outfile (ErrExists when there is
	// one) and returns the hex SHA-256 of the bytes written.
	WriteOutfile(ctx context.Context, ciphertext []byte) (string, error)
	// OutfileSHA256 is the hex SHA-256 of the outfile as it is now; ""
	// when there is none this store can vouch for (a link, another user's
	// file, larger than journal.MaxOutfileSize).
	OutfileSHA256(ctx context.Context) (string, error)
	// ReadOutfile reads the outfile whole; an error when there is none
	// this store can vouch for (as OutfileSHA256).
	ReadOutfile(ctx context.Context) ([]byte, error)
	// ReplaceOutfile durably replaces the outfile with ciphertext, only
	// while its bytes are still those whose hex SHA-256 is oldSHA256
	// (ErrChanged otherwise), and returns the new bytes' SHA-256. Only a
	// re-seal replaces an outfile: the same secret, sealed to other
	// recipients. The old bytes are not kept beside it (a copy would
	// defeat the re-seal); a versioned bucket keeps them as an older
	// version all the same.
	ReplaceOutfile(ctx context.Context, ciphertext []byte, oldSHA256 string) (string, error)
	// Rewrite durably replaces the held intent with in (the same device,
	// create ID and proof): a re-seal names the ciphertext it puts before
	// ReplaceOutfile puts it.
	Rewrite(ctx context.Context, in journal.Intent) error
	// WriteRecord records whose secret the outfile holds, replacing only
	// an earlier record.
	WriteRecord(ctx context.Context, r journal.Record) error
	// Done removes the intent (the outcome is settled) and releases it.
	Done(ctx context.Context) error
	// Keep releases the intent and leaves it for the next plan.
	Keep(ctx context.Context) error
}

// Backend is one store: a folder tree, or a bucket and prefix. Devices
// are addressed by their manifest entry; the backend finds the outfile's
// name in it from the device's Outfile.
type Backend interface {
	// Describe names the store for people: "folder /abs/path" or
	// "s3://BUCKET/PREFIX/".
	Describe() string
	// Check is the preflight, before any IAM call, of the devices' files:
	// with write (apply), missing folders are made and probed; without
	// (plan), nothing is changed and the problems are what apply will
	// refuse. The folder: each outfile folder is safe and writable. S3:
	// the bucket exists and is reachable in its region, versioning is on
	// (or allowed off, a warning), public access is blocked, and the
	// prefix can be listed. Each problem names the first device it stops.
	Check(ctx context.Context, devices []manifest.Device, write bool) []Problem
	// Read reads the evidence of each device, by device name; devices
	// whose files are not reachable (a folder that does not exist yet)
	// are left out.
	Read(ctx context.Context, account string, devices []manifest.Device) (map[string]Evidence, error)
	// Files returns a device's files, for writing.
	Files(ctx context.Context, d manifest.Device) (Files, error)
	// Owned returns, by serial, the files of every device of account
	// whose record is in the store beside one of devices' outfiles (the
	// folders or prefix they share): what prune moves aside.
	Owned(ctx context.Context, account string, devices []manifest.Device) (map[string]Files, error)
	Close() error
}
