package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// MaxIdentitySize bounds an identity file: a few keys are a few KB.
const MaxIdentitySize = 1 << 20

// ErrNoTerminal is returned (wrapped) when an identity needs a passphrase
// and there is no terminal to ask for it on. Passphrases are read only from
// the terminal, never from an argument or the environment.
var ErrNoTerminal = errors.New("no terminal to ask for the passphrase on (passphrases are read only from the terminal, /dev/tty, never from an argument or the environment)")

// Passphrase returns the passphrase of the identity file name. It is
// called lazily, during decryption, and only when the file's key is both
// needed (it matches a recipient of the ciphertext, for an SSH key) and
// encrypted. [TerminalPassphrase] asks on the terminal, as age -d does.
type Passphrase func(name string) ([]byte, error)

// ReadIdentities reads an identity file as age's -i does: an age identity
// file (AGE-SECRET-KEY-1… lines, AGE-SECRET-KEY-PQ-1… for post-quantum
// keys from age-keygen -pq, and AGE-PLUGIN-NAME-1… for a key held in
// hardware, which runs age-plugin-NAME from PATH as age does when the key
// is needed), an SSH private key, or either of those
// protected by a passphrase: an SSH key encrypted by ssh-keygen -N, or an
// age identity file encrypted with age -p (armored or not). For those,
// ask is called for the passphrase when the key is first needed; a nil
// ask makes them an error.
//
// A FIFO, a device such as /dev/zero, or a file over MaxIdentitySize is
// refused rather than read forever.
func ReadIdentities(path string, ask Passphrase) ([]age.Identity, error) {
	b, err := inputfile.Read(path, MaxIdentitySize)
	if err != nil {
		return nil, err
	}
	defer clear(b) // it holds private keys
	trimmed := bytes.TrimSpace(b)
	switch {
	case bytes.HasPrefix(b, []byte("age-encryption.org/")) || bytes.HasPrefix(trimmed, []byte(armor.Header)):
		if ask == nil {
			return nil, fmt.Errorf("%s is encrypted with a passphrase, and none can be asked for here", path)
		}
		return []age.Identity{&encryptedIdentity{name: path, contents: bytes.Clone(b), ask: ask}}, nil
	case bytes.Contains(b, []byte("PRIVATE KEY-----")):
		return readSSH(path, b, ask)
	}
	ids, err := parseIdentities(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// parseIdentities is age.ParseIdentities, which parses age's native keys,
// classic and post-quantum, and also takes plugin identities
// (AGE-PLUGIN-NAME-1…), as the age CLI does: the identity file of a
// YubiKey, Secure Enclave or TPM key that a tag recipient (age1tag1…,
// age1tagpq1…) names. Like age's, its errors never quote a line.
func parseIdentities(b []byte) ([]age.Identity, error) {
	if !bytes.Contains(b, []byte("AGE-PLUGIN-")) {
		return age.ParseIdentities(bytes.NewReader(b))
	}
	var ids []age.Identity
	n := 0
	for l := range bytes.Lines(b) {
		n++
		line := strings.TrimRight(string(l), "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "AGE-PLUGIN-") {
			more, err := age.ParseIdentities(strings.NewReader(line))
			if err != nil {
				return nil, fmt.Errorf("error at line %d: %s", n, strings.TrimPrefix(err.Error(), "error at line 1: "))
			}
			ids = append(ids, more...)
			continue
		}
		id, err := plugin.NewIdentity(line, pluginUI())
		if err != nil {
			return nil, fmt.Errorf("error at line %d: invalid plugin identity", n)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("no identities found")
	}
	return ids, nil
}

// pluginUI is how a plugin (age-plugin-yubikey asking for a PIN, or to
// touch the key) talks to the person: on the terminal, as age's, with its
// messages on standard error, which never carries a secret.
func pluginUI() *plugin.ClientUI {
	return plugin.NewTerminalUI(
		func(format string, v ...any) { fmt.Fprintf(os.Stderr, "mfabulk: "+format+"\n", v...) },
		func(format string, v ...any) { fmt.Fprintf(os.Stderr, "mfabulk: warning: "+format+"\n", v...) },
	)
}

// readSSH parses an SSH private key; an encrypted one becomes agessh's
// EncryptedSSHIdentity, which asks for the passphrase only when the
// ciphertext was sealed to that key.
func readSSH(path string, pemBytes []byte, ask Passphrase) ([]age.Identity, error) {
	id, err := agessh.ParseIdentity(pemBytes)
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []age.Identity{id}, nil
	}
	if ask == nil {
		return nil, fmt.Errorf("%s is encrypted with a passphrase, and none can be asked for here", path)
	}
	pub := missing.PublicKey
	if pub == nil { // an old PEM key: its public half is only in KEY.pub
		b, err := inputfile.Read(path+".pub", MaxIdentitySize)
		if err != nil {
			return nil, fmt.Errorf("%s is an encrypted SSH key in the old PEM format, and its public key %s.pub cannot be read (%w); convert the key with ssh-keygen -p -o", path, path, err)
		}
		pub, _, _, _, err = ssh.ParseAuthorizedKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s.pub: %w", path, err)
		}
	}
	i, err := agessh.NewEncryptedSSHIdentity(pub, bytes.Clone(pemBytes), func() ([]byte, error) { return ask(path) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []age.Identity{i}, nil
}

// encryptedIdentity is an age identity file encrypted with a passphrase
// (age -p), as the age CLI's -i takes it: decrypted, after asking for the
// passphrase, the first time a file key is to be unwrapped. Its contents
// are ciphertext; the identities decrypted from them stay in memory only.
type encryptedIdentity struct {
	name     string
	contents []byte
	ask      Passphrase

	identities []age.Identity
}

// Unwrap implements [age.Identity].
func (i *encryptedIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if i.identities == nil {
		if err := i.decrypt(); err != nil {
			return nil, err
		}
	}
	for _, id := range i.identities {
		key, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return key, err
	}
	return nil, age.ErrIncorrectIdentity
}

func (i *encryptedIdentity) decrypt() error {
	var r io.Reader = bytes.NewReader(i.contents)
	if bytes.HasPrefix(bytes.TrimSpace(i.contents), []byte(armor.Header)) {
		r = armor.NewReader(r)
	}
	pass, err := i.ask(i.name)
	if err != nil {
		return err
	}
	sid, err := age.NewScryptIdentity(string(pass))
	clear(pass)
	if err != nil {
		return fmt.Errorf("%s: %w", i.name, err)
	}
	d, err := age.Decrypt(r, sid)
	if errors.Is(err, age.ErrIncorrectIdentity) || errors.As(err, new(*age.NoIdentityMatchError)) {
		return fmt.Errorf("%s: incorrect passphrase, or the file is encrypted with age but not with a passphrase", i.name)
	}
	if err != nil {
		return fmt.Errorf("%s: decrypting the identity file: %w", i.name, err)
	}
	plain, err := io.ReadAll(io.LimitReader(d, MaxIdentitySize+1))
	defer clear(plain)
	if err != nil {
		return fmt.Errorf("%s: decrypting the identity file: %w", i.name, err)
	}
	if len(plain) > MaxIdentitySize {
		return fmt.Errorf("%s: the decrypted identity file is larger than %d bytes", i.name, MaxIdentitySize)
	}
	ids, err := parseIdentities(plain)
	if err != nil {
		return fmt.Errorf("%s: the decrypted identity file: %w", i.name, err)
	}
	i.identities = ids
	return nil
}

// TerminalPassphrase asks for the passphrase of the identity file name on
// the process's terminal, /dev/tty, without echo, as age -d does: the
// prompt and the answer never pass through standard input or output, so
// codes or a secret can still be piped. Without a terminal it returns an
// error wrapping [ErrNoTerminal].
func TerminalPassphrase(name string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%s is protected by a passphrase: %w", name, ErrNoTerminal)
	}
	defer tty.Close()
	fd := int(tty.Fd())
	defer restoreOnInterrupt(fd)()
	fmt.Fprintf(tty, "Enter passphrase for %s: ", name)
	pass, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase of %s: %w", name, err)
	}
	return pass, nil
}

// restoreOnInterrupt puts the terminal fd back as it is now (echo on) as
// soon as SIGINT or SIGTERM arrives, until the returned func is called.
// term.ReadPassword turns echo off and restores it only when its read
// returns, and a blocked read does not return on a signal: the command's
// interrupt handling then ends the process, which would leave the
// person's shell without echo. The signals are still delivered to every
// other listener; this only restores the terminal.
func restoreOnInterrupt(fd int) (stop func()) {
	state, err := term.GetState(fd)
	if err != nil {
		return func() {}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-sigs:
			_ = term.Restore(fd, state) // the process is ending; nothing to report it to
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}
