package manifest

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// A manifest's store: is where its devices' outfiles, records and intents
// are kept when not in the folder next to it: an S3 bucket and prefix,
// s3://BUCKET/PREFIX/. The outfile template then renders a key under the
// prefix, held to rules of its own (outfileKey): a key is never cleaned
// or resolved the way a path is, so anything a path would resolve ("..",
// ".", "//", a leading "/") is refused rather than stored literally.

var storeFields = []string{"url", "kmsKeyId"}

// Bounds of a store and of the keys in it.
const (
	// MaxStorePrefix bounds a store's prefix, leaving more than half of
	// S3's 1,024-byte key to the outfiles under it.
	MaxStorePrefix = 512
	// MaxStoreKey bounds an outfile's whole key (prefix and rendered
	// outfile): S3's limit of 1,024 bytes, less the 20 that mfabulk's own
	// keys beside an outfile add to its name (as MaxOutfileName leaves of
	// a file name's 255).
	MaxStoreKey = 1024 - (maxOutfileElement - MaxOutfileName)
	// maxKMSKeyID is KMS's limit on a KeyId.
	maxKMSKeyID = 2048
)

// kmsKeyRE is what S3 takes as an SSE-KMS key: a key ID (a UUID, or a
// multi-Region key's mrk-…), alias/NAME, or the ARN of a key or an alias.
var kmsKeyRE = func() *regexp.Regexp {
	id := `(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})`
	alias := `alias/[a-zA-Z0-9/_-]{1,250}`
	return regexp.MustCompile(`^(?:` + id + `|` + alias + `|arn:(?:` + partitions + `):kms:[a-z0-9-]{1,32}:[0-9]{12}:(?:key/` + id + `|` + alias + `))$`)
}()

// bucketRE is S3's rule for a general purpose bucket's name, less the
// reserved prefixes and suffixes (reservedBucket) and IP addresses.
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)

// reservedBucket are the starts and ends S3 reserves in a bucket name,
// with why, for the message.
var reservedBucket = []struct {
	prefix bool
	s, why string
}{
	{true, "xn--", "S3 reserves it"},
	{true, "sthree-", "S3 reserves it"},
	{true, "amzn-s3-demo-", "S3 reserves it for examples"},
	{false, "-s3alias", "S3 reserves it for access point aliases"},
	{false, "--ol-s3", "S3 reserves it for Object Lambda access point aliases"},
	{false, ".mrap", "S3 reserves it for Multi-Region Access Points"},
	{false, "--x-s3", "it names a directory bucket, which has no versioning: use a general purpose bucket"},
	{false, "--table-s3", "it names a table bucket: use a general purpose bucket"},
}

// ParseStore checks a store's URL (s3://BUCKET/PREFIX/, ending in "/";
// the prefix may be empty) and optional SSE-KMS key, as a manifest's
// store: gives them, and returns the store. Its errors name the fix.
func ParseStore(url, kmsKeyID string) (Store, error) {
	if err := checkKMSKeyID(kmsKeyID); err != nil {
		return Store{}, err
	}
	if r, at, bad := invisible(url); bad {
		return Store{}, fmt.Errorf("store %q has %s at character %d: write s3://BUCKET/PREFIX/ in characters that print", short(url), describeRune(r), at)
	}
	rest, ok := strings.CutPrefix(url, "s3://")
	if !ok {
		return Store{}, fmt.Errorf("store %q is not an S3 URL: write s3://BUCKET/PREFIX/", short(url))
	}
	if strings.ContainsAny(rest, "?#") {
		return Store{}, fmt.Errorf("store %q has a query or fragment (? or #): write s3://BUCKET/PREFIX/ and nothing more", short(url))
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return Store{}, errors.New("store holds credentials (…@): write s3://BUCKET/PREFIX/, and give credentials through the AWS SDK's settings")
	}
	if err := checkBucket(bucket); err != nil {
		return Store{}, fmt.Errorf("store %q: %w", short(url), err)
	}
	if !strings.HasSuffix(url, "/") || !strings.Contains(rest, "/") {
		fix := "end it with \"/\""
		if short(url) == url {
			fix = fmt.Sprintf("write %q", url+"/")
		}
		return Store{}, fmt.Errorf("store %q does not end in \"/\": %s (a store is a folder of keys)", short(url), fix)
	}
	if err := checkPrefix(prefix); err != nil {
		return Store{}, fmt.Errorf("store %q: %w", short(url), err)
	}
	return Store{URL: url, Bucket: bucket, Prefix: prefix, KMSKeyID: kmsKeyID}, nil
}

// checkBucket applies S3's rules for a general purpose bucket's name.
func checkBucket(b string) error {
	switch {
	case b == "":
		return errors.New("no bucket: write s3://BUCKET/PREFIX/")
	case len(b) < 3 || len(b) > 63:
		return fmt.Errorf("bucket name %q is %d characters long; S3 allows 3 to 63", short(b), len(b))
	case strings.ToLower(b) != b && bucketRE.MatchString(strings.ToLower(b)):
		return fmt.Errorf("bucket name %q has capital letters; S3 bucket names are lowercase: write %q", b, strings.ToLower(b))
	case !bucketRE.MatchString(b):
		return fmt.Errorf("bucket name %q is not one S3 allows: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit", b)
	case strings.Contains(b, ".."):
		return fmt.Errorf("bucket name %q has two periods in a row, which S3 does not allow", b)
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return fmt.Errorf("bucket name %q is an IP address, which S3 does not allow", b)
	}
	for _, r := range reservedBucket {
		if r.prefix && strings.HasPrefix(b, r.s) {
			return fmt.Errorf("bucket name %q starts with %q: %s", b, r.s, r.why)
		}
		if !r.prefix && strings.HasSuffix(b, r.s) {
			return fmt.Errorf("bucket name %q ends with %q: %s", b, r.s, r.why)
		}
	}
	return nil
}

// checkPrefix holds a store's prefix ("" or ending in "/") to the rules of
// an outfile's key, so that a key under it is what a person reads.
func checkPrefix(p string) error {
	switch {
	case len(p) > MaxStorePrefix:
		return fmt.Errorf("prefix is %d bytes long; at most %d, leaving room in S3's 1,024-byte key for the outfiles under it", len(p), MaxStorePrefix)
	case strings.Contains(p, `\`):
		return errors.New("prefix has a backslash: separate folders with \"/\"")
	case strings.Contains(p, "{{"):
		return errors.New("prefix holds \"{{\": a store is not a template (the outfile template renders the key under it)")
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		switch seg {
		case "":
			if p != "" {
				return errors.New("prefix has an empty folder name (\"//\", or \"/\" right after the bucket): write s3://BUCKET/ or s3://BUCKET/PREFIX/")
			}
		case ".", "..":
			return fmt.Errorf("prefix has a %q folder, which S3 keeps as a name, not a step: write the prefix without it", seg)
		}
	}
	return nil
}

// checkKMSKeyID checks an SSE-KMS key ("" for none).
func checkKMSKeyID(k string) error {
	if k == "" {
		return nil
	}
	if len(k) > maxKMSKeyID || !kmsKeyRE.MatchString(k) {
		return fmt.Errorf("kmsKeyId %s is not a KMS key: write a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), alias/NAME, or a key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", quote(k))
	}
	return nil
}

// readStore reads store: (a URL, or a mapping with url and kmsKeyId).
// Its problems are reported at the value at fault; nil means none given
// or not valid.
func (c *collector) readStore(n *yaml.Node) *Store {
	urlNode, what, kms, kmsOK := n, "store", "", true
	if n.Kind == yaml.MappingNode {
		f := c.mapping(n, "store", storeFields...)
		if f == nil {
			return nil
		}
		if v := f["kmsKeyId"]; v != nil {
			kms, kmsOK = c.scalar(v, "store.kmsKeyId")
			if err := checkKMSKeyID(kms); kmsOK && err != nil {
				c.at(v.Line, v.Column, "store", "store.%v", err)
				kmsOK = false
			}
		}
		if urlNode, what = f["url"], "store.url"; urlNode == nil {
			c.at(n.Line, n.Column, "store", "store has no \"url\": write url: s3://BUCKET/PREFIX/")
			return nil
		}
	}
	u, ok := c.scalar(urlNode, what)
	if !ok {
		return nil
	}
	if !kmsOK {
		kms = ""
	}
	s, err := ParseStore(u, kms)
	if err != nil {
		c.at(urlNode.Line, urlNode.Column, "store", "%v", err)
		return nil
	}
	if !kmsOK {
		return nil
	}
	if prev, ok := c.x.stores[s.URL]; ok && prev.store.KMSKeyID != s.KMSKeyID {
		c.at(urlNode.Line, urlNode.Column, "store", "store %s has kmsKeyId %s here and %s at %s: give a store one kmsKeyId", s.URL, orNone(s.KMSKeyID), orNone(prev.store.KMSKeyID), c.where(prev.pos))
		return nil
	} else if !ok {
		c.x.stores[s.URL] = declaredStore{s, Pos{c.file, urlNode.Line, urlNode.Column}}
	}
	return &s
}

// declaredStore is a store and where it was first named.
type declaredStore struct {
	store Store
	pos   Pos
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return quote(s)
}

// outfileKey renders a device's outfile as a key under the store's prefix
// and returns its URL (s3://BUCKET/PREFIX/KEY); "" after a problem. st is
// nil when the store itself is not valid: the key is still checked, so
// that every problem shows at once. The rendered key stays under the
// prefix as written: no leading "/", no ".." or "." folder, no "//", no
// backslash. Its file name follows the folder's rules (not starting with
// ".", no ".replaced-", at most MaxOutfileName bytes), since the record,
// intent and moved-aside objects are named after it, beside it.
func (c *collector) outfileKey(t *template, line, col int, d Device, st *Store) string {
	prefix := ""
	if st != nil {
		prefix = st.Prefix
	}
	key, size, fits := t.expand(MaxStoreKey-len(prefix), deviceValues(d)...)
	if !fits {
		c.at(line, col, "outfile-length", "outfile for device %q would be a key of %d bytes under a prefix of %d; at most %d in all, so that mfabulk's own keys beside it fit S3's limit of 1,024", d.Name, size, len(prefix), MaxStoreKey)
		return ""
	}
	if elem := longElement(key); elem != "" {
		c.at(line, col, "outfile-length", "outfile for device %q has a folder or file name of %d bytes, %s; at most %d", d.Name, len(elem), quote(elem), maxOutfileElement)
		return ""
	}
	if r, at, bad := invisible(key); bad {
		c.at(line, col, "outfile-pattern", "outfile %q for device %q has %s at character %d: an outfile is a key of characters that print (no control, format, separator, private-use or non-ASCII space character)", short(key), d.Name, describeRune(r), at)
		return ""
	}
	if rule, problem := keyProblem(key); problem != "" {
		c.at(line, col, rule, "outfile %s for device %q %s", quote(key), d.Name, problem)
		return ""
	}
	base := path.Base(key)
	if strings.HasPrefix(base, ".") || strings.Contains(base, ReplacedInfix) {
		c.at(line, col, "outfile-reserved", "outfile %s for device %q: a name starting with \".\" or holding %q is reserved for mfabulk's own objects beside outfiles (intents, records, replaced outfiles)", quote(key), d.Name, ReplacedInfix)
		return ""
	}
	if len(base) > MaxOutfileName {
		c.at(line, col, "outfile-length", "outfile %s for device %q has a name of %d bytes after its last \"/\"; at most %d, so that mfabulk's own keys beside it (\".NAME.intent\", \".NAME.id\") are at most 255", quote(key), d.Name, len(base), MaxOutfileName)
		return ""
	}
	if st == nil {
		return ""
	}
	url := st.URL + key
	if prev, dup := c.x.outfiles[url]; dup {
		c.at(line, col, "outfile-unique", "outfile %s of device %q is also the outfile of %q (%s)", quote(url), d.Name, prev.name, c.where(prev.pos))
		return url
	}
	c.x.outfiles[url] = declared{d.Name, Pos{c.file, line, col}}
	return url
}

// keyProblem says what keeps key from being a key under a store's prefix,
// and by which rule; "" when nothing does.
func keyProblem(key string) (rule, problem string) {
	switch {
	case key == "":
		return "outfile-key", "is empty: name a key under the store's prefix"
	case strings.HasPrefix(key, "/"):
		return "outfile-escape", "starts with \"/\": a key is relative to the store's prefix"
	case strings.Contains(key, `\`):
		return "outfile-key", "has a backslash: separate folders with \"/\""
	case strings.HasSuffix(key, "/"):
		return "outfile-key", "ends in \"/\": an outfile is an object, not a folder"
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "..":
			return "outfile-escape", "has a \"..\" folder: a key stays under the store's prefix"
		case ".":
			return "outfile-key", "has a \".\" folder, which S3 keeps as a name: write the key without it"
		case "":
			return "outfile-key", "has \"//\": write each folder name once"
		}
	}
	return "", ""
}
