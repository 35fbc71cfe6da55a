package manifest

import (
	"reflect"
	"strings"
	"testing"
)

// TestStoreGood checks the stores a manifest may name, in both forms, and
// the keys their devices' outfiles render to.
func TestStoreGood(t *testing.T) {
	tests := []struct {
		name, store, outfile string
		want                 Store
		key                  string // alice's Outfile
	}{
		{"prefix", "s3://mfa-outfiles/cohorts/q4/", "", Store{URL: "s3://mfa-outfiles/cohorts/q4/", Bucket: "mfa-outfiles", Prefix: "cohorts/q4/"}, "s3://mfa-outfiles/cohorts/q4/out/alice.png.age"},
		{"no prefix", "s3://mfa.outfiles.example/", "{{.Name}}{{.Ext}}.age", Store{URL: "s3://mfa.outfiles.example/", Bucket: "mfa.outfiles.example"}, "s3://mfa.outfiles.example/alice.png.age"},
		{"quoted", `"s3://abc/p/"`, "by-path{{.Path}}{{.Name}}.age", Store{URL: "s3://abc/p/", Bucket: "abc", Prefix: "p/"}, "s3://abc/p/by-path/q4/alice.age"},
		{"mapping", "{url: s3://abc/p/}", "", Store{URL: "s3://abc/p/", Bucket: "abc", Prefix: "p/"}, "s3://abc/p/out/alice.png.age"},
		{"key ID", "{url: s3://abc/p/, kmsKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab}", "", Store{URL: "s3://abc/p/", Bucket: "abc", Prefix: "p/", KMSKeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}, "s3://abc/p/out/alice.png.age"},
		{"multi-Region key", "{url: s3://abc/, kmsKeyId: mrk-1234abcd12ab34cd56ef1234567890ab}", "", Store{URL: "s3://abc/", Bucket: "abc", KMSKeyID: "mrk-1234abcd12ab34cd56ef1234567890ab"}, "s3://abc/out/alice.png.age"},
		{"alias", "{url: s3://abc/, kmsKeyId: alias/mfa-outfiles}", "", Store{URL: "s3://abc/", Bucket: "abc", KMSKeyID: "alias/mfa-outfiles"}, "s3://abc/out/alice.png.age"},
		{"key ARN", "{url: s3://abc/, kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab'}", "", Store{URL: "s3://abc/", Bucket: "abc", KMSKeyID: "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, "s3://abc/out/alice.png.age"},
		{"alias ARN", "{url: s3://abc/, kmsKeyId: 'arn:aws-us-gov:kms:us-gov-west-1:111111111111:alias/mfa'}", "", Store{URL: "s3://abc/", Bucket: "abc", KMSKeyID: "arn:aws-us-gov:kms:us-gov-west-1:111111111111:alias/mfa"}, "s3://abc/out/alice.png.age"},
		{"longest prefix", "s3://abc/" + strings.Repeat("p/", MaxStorePrefix/2), "a.age", Store{URL: "s3://abc/" + strings.Repeat("p/", MaxStorePrefix/2), Bucket: "abc", Prefix: strings.Repeat("p/", MaxStorePrefix/2)}, "s3://abc/" + strings.Repeat("p/", MaxStorePrefix/2) + "a.age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "version: 1\nstore: " + tt.store + "\ndefaults: {path: /q4/, recipients: [KEY]}\ndevices:\n  - name: alice\n"
			if tt.outfile != "" {
				src += "    outfile: '" + tt.outfile + "'\n"
			}
			m, ds := parse(t, src)
			if ds != nil {
				t.Fatal(ds)
			}
			d := m.Devices[0]
			if d.Store != tt.want || d.Outfile != tt.key {
				t.Errorf("device store %+v, outfile %q; want %+v, %q", d.Store, d.Outfile, tt.want, tt.key)
			}
			if !reflect.DeepEqual(m.Stores, []Store{tt.want}) {
				t.Errorf("manifest stores %+v", m.Stores)
			}
		})
	}
}

// TestStoreBad checks each problem of a store, and of a key under it, is
// reported at its value with a message naming the fix.
func TestStoreBad(t *testing.T) {
	const dev = "defaults: {recipients: [KEY]}\ndevices:\n  - name: a\n"
	tests := []struct {
		name, src, rule, pos, msg string
	}{
		{"https", "version: 1\nstore: https://abc.s3.amazonaws.com/p/\n" + dev, "store", "m.yaml:2:8", `store "https://abc.s3.amazonaws.com/p/" is not an S3 URL: write s3://BUCKET/PREFIX/`},
		{"folder", "version: 1\nstore: out/\n" + dev, "store", "m.yaml:2:8", `is not an S3 URL: write s3://BUCKET/PREFIX/`},
		{"capital scheme", "version: 1\nstore: S3://abc/p/\n" + dev, "store", "m.yaml:2:8", `is not an S3 URL`},
		{"no trailing slash", "version: 1\nstore: s3://abc/p\n" + dev, "store", "m.yaml:2:8", `store "s3://abc/p" does not end in "/": write "s3://abc/p/"`},
		{"bucket only", "version: 1\nstore: s3://abc\n" + dev, "store", "m.yaml:2:8", `does not end in "/": write "s3://abc/"`},
		{"no bucket", "version: 1\nstore: s3:///p/\n" + dev, "store", "m.yaml:2:8", `no bucket: write s3://BUCKET/PREFIX/`},
		{"short bucket", "version: 1\nstore: s3://ab/\n" + dev, "store", "m.yaml:2:8", `bucket name "ab" is 2 characters long; S3 allows 3 to 63`},
		{"long bucket", "version: 1\nstore: s3://" + strings.Repeat("b", 64) + "/\n" + dev, "store", "m.yaml:2:8", `is 64 characters long; S3 allows 3 to 63`},
		{"capitals", "version: 1\nstore: s3://MyBucket/\n" + dev, "store", "m.yaml:2:8", `bucket name "MyBucket" has capital letters; S3 bucket names are lowercase: write "mybucket"`},
		{"underscore", "version: 1\nstore: s3://my_bucket/\n" + dev, "store", "m.yaml:2:8", `bucket name "my_bucket" is not one S3 allows`},
		{"ends with dash", "version: 1\nstore: s3://bucket-/\n" + dev, "store", "m.yaml:2:8", `starting and ending with a letter or digit`},
		{"two periods", "version: 1\nstore: s3://my..bucket/\n" + dev, "store", "m.yaml:2:8", `two periods in a row`},
		{"IP address", "version: 1\nstore: s3://192.168.5.4/\n" + dev, "store", "m.yaml:2:8", `is an IP address`},
		{"xn--", "version: 1\nstore: s3://xn--bucket/\n" + dev, "store", "m.yaml:2:8", `starts with "xn--"`},
		{"s3alias", "version: 1\nstore: s3://bucket-s3alias/\n" + dev, "store", "m.yaml:2:8", `ends with "-s3alias": S3 reserves it for access point aliases`},
		{"directory bucket", "version: 1\nstore: s3://bucket--usw2-az1--x-s3/\n" + dev, "store", "m.yaml:2:8", `directory bucket, which has no versioning`},
		{"port", "version: 1\nstore: s3://bucket:9000/\n" + dev, "store", "m.yaml:2:8", `is not one S3 allows`},
		{"credentials", "version: 1\nstore: s3://AKIA:secret@bucket/\n" + dev, "store", "m.yaml:2:8", `store holds credentials (…@): write s3://BUCKET/PREFIX/`},
		{"query", "version: 1\nstore: s3://bucket/p/?versionId=1\n" + dev, "store", "m.yaml:2:8", `has a query or fragment`},
		{"fragment", "version: 1\nstore: 's3://bucket/p/#x'\n" + dev, "store", "m.yaml:2:8", `has a query or fragment`},
		{"double slash", "version: 1\nstore: s3://bucket/a//b/\n" + dev, "store", "m.yaml:2:8", `prefix has an empty folder name`},
		{"slash after bucket", "version: 1\nstore: s3://bucket//\n" + dev, "store", "m.yaml:2:8", `prefix has an empty folder name`},
		{"dot dot", "version: 1\nstore: s3://bucket/a/../b/\n" + dev, "store", "m.yaml:2:8", `prefix has a ".." folder`},
		{"dot", "version: 1\nstore: s3://bucket/./\n" + dev, "store", "m.yaml:2:8", `prefix has a "." folder`},
		{"backslash", "version: 1\nstore: 's3://bucket/a\\b/'\n" + dev, "store", "m.yaml:2:8", `prefix has a backslash`},
		{"template", "version: 1\nstore: 's3://bucket/{{.Name}}/'\n" + dev, "store", "m.yaml:2:8", `a store is not a template`},
		{"long prefix", "version: 1\nstore: s3://bucket/" + strings.Repeat("p", MaxStorePrefix) + "/\n" + dev, "store", "m.yaml:2:8", `prefix is 513 bytes long; at most 512`},
		{"control", "version: 1\nstore: \"s3://bucket/a\\tb/\"\n" + dev, "store", "m.yaml:2:8", `has U+0009 (a control character) at character 14`},
		{"bidi", "version: 1\nstore: \"s3://bucket/a\\u202eb/\"\n" + dev, "store", "m.yaml:2:8", `has U+202E (a format character)`},
		{"null", "version: 1\nstore:\n" + dev, "yaml-type", "m.yaml:2:7", `store: want a string, got null`},
		{"list", "version: 1\nstore: [s3://abc/]\n" + dev, "yaml-type", "m.yaml:2:8", `store: want a string, got a list`},
		{"no url", "version: 1\nstore: {kmsKeyId: alias/x}\n" + dev, "store", "m.yaml:2:8", `store has no "url": write url: s3://BUCKET/PREFIX/`},
		{"unknown field", "version: 1\nstore:\n  url: s3://abc/\n  kmsKeyID: alias/x\n" + dev, "yaml-unknown-field", "m.yaml:4:3", `store: unknown field "kmsKeyID" (did you mean "kmsKeyId"?)`},
		{"bad url in mapping", "version: 1\nstore:\n  url: s3://abc\n" + dev, "store", "m.yaml:3:8", `does not end in "/"`},
		{"bad url and key", "version: 1\nstore:\n  url: s3://ab/\n  kmsKeyId: my-key\n" + dev, "store", "m.yaml:3:8", `bucket name "ab" is 2 characters long`},
		{"long url, no slash", "version: 1\nstore: s3://abc/" + strings.Repeat("p", 40) + "\n" + dev, "store", "m.yaml:2:8", `does not end in "/": end it with "/" (a store is a folder of keys)`},
		{"bad key", "version: 1\nstore:\n  url: s3://abc/\n  kmsKeyId: my-key\n" + dev, "store", "m.yaml:4:13", `store.kmsKeyId "my-key" is not a KMS key: write a key ID`},
		{"key of S3", "version: 1\nstore: {url: s3://abc/, kmsKeyId: 'arn:aws:s3:::abc'}\n" + dev, "store", "m.yaml:2:35", `is not a KMS key`},
		{"long key", "version: 1\nstore: {url: s3://abc/, kmsKeyId: alias/" + strings.Repeat("k", 251) + "}\n" + dev, "store", "m.yaml:2:35", `is not a KMS key`},

		// Keys under the prefix.
		{"key up", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: ../a.age\n", "outfile-escape", "m.yaml:6:14", `outfile "../a.age" for device "a" has a ".." folder: a key stays under the store's prefix`},
		{"key absolute", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: /a.age\n", "outfile-escape", "m.yaml:6:14", `starts with "/": a key is relative to the store's prefix`},
		{"key dot", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: ./a.age\n", "outfile-key", "m.yaml:6:14", `has a "." folder`},
		{"key double slash", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: out//a.age\n", "outfile-key", "m.yaml:6:14", `has "//"`},
		{"key folder", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: out/\n", "outfile-key", "m.yaml:6:14", `ends in "/": an outfile is an object`},
		{"key backslash", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: 'out\\a.age'\n", "outfile-key", "m.yaml:6:14", `has a backslash`},
		{"key path dot dot", "version: 1\nstore: s3://abc/p/\ndefaults: {outfile: 'x{{.Path}}{{.Name}}', recipients: [KEY]}\ndevices:\n  - name: a\n    path: /../\n", "outfile-escape", "m.yaml:3:21", `"x/../a" for device "a" has a ".." folder`},
		{"key path leading slash", "version: 1\nstore: s3://abc/p/\ndefaults: {outfile: '{{.Path}}{{.Name}}', recipients: [KEY]}\ndevices:\n  - name: a\n", "outfile-escape", "m.yaml:3:21", `starts with "/"`},
		{"key empty", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: ''\n", "outfile-key", "m.yaml:6:14", `is empty`},
		{"key hidden", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: out/.a.age.intent\n", "outfile-reserved", "m.yaml:6:14", `reserved for mfabulk's own objects`},
		{"key replaced", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: a.age.replaced-20260101T000000Z\n", "outfile-reserved", "m.yaml:6:14", `reserved for mfabulk's own objects`},
		{"key name", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: out/" + strings.Repeat("a", MaxOutfileName+1) + "\n", "outfile-length", "m.yaml:6:14", `has a name of 236 bytes after its last "/"; at most 235`},
		{"key element", "version: 1\nstore: s3://abc/p/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: " + strings.Repeat("a", 256) + "/a.age\n", "outfile-length", "m.yaml:6:14", `has a folder or file name of 256 bytes`},
		{"key too long", "version: 1\nstore: s3://abc/" + strings.Repeat("p/", 200) + "\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: " + strings.Repeat("a/", 302) + "a\n", "outfile-length", "m.yaml:6:14", `would be a key of 605 bytes under a prefix of 400; at most 1004 in all`},
		{"key control", "version: 1\nstore: s3://abc/p/\ndefaults: {outfile: \"{{.Name}}\\u00a0.age\", recipients: [KEY]}\ndevices:\n  - name: a\n", "outfile-pattern", "m.yaml:3:21", `U+00A0`},
		{"key unique", "version: 1\nstore: s3://abc/p/\ndefaults: {outfile: same.age, recipients: [KEY]}\ndevices:\n  - name: a\n  - name: b\n", "outfile-unique", "m.yaml:3:21", `outfile "s3://abc/p/same.age" of device "b" is also the outfile of "a" (line 3)`},
		{"key checked with a bad store", "version: 1\nstore: s3://ab/\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: ../a.age\n", "outfile-escape", "m.yaml:6:14", `has a ".." folder`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := parse(t, tt.src)
			for _, d := range ds {
				if d.Rule == tt.rule && d.Pos.String() == tt.pos && strings.Contains(d.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want %s at %s with %q; got:\n%v", tt.rule, tt.pos, tt.msg, ds)
		})
	}
}

// TestStoreKeyAtBound checks that a key of exactly MaxStoreKey bytes,
// prefix and outfile, is taken, and one byte more is not.
func TestStoreKeyAtBound(t *testing.T) {
	prefix := strings.Repeat("p/", 200)
	for _, n := range []int{MaxStoreKey - len(prefix), MaxStoreKey - len(prefix) + 1} {
		out := strings.Repeat("a/", (n-1)/2) + strings.Repeat("b", 1+(n-1)%2)
		m, ds := parse(t, "version: 1\nstore: s3://abc/"+prefix+"\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n    outfile: "+out+"\n")
		switch {
		case n <= MaxStoreKey-len(prefix) && ds != nil:
			t.Errorf("key of %d bytes refused: %v", len(prefix)+len(out), ds)
		case n > MaxStoreKey-len(prefix) && ds == nil:
			t.Errorf("key of %d bytes taken: %s", len(prefix)+len(out), m.Devices[0].Outfile)
		}
	}
}

// TestStoresAcrossFiles checks that each manifest of one account may name
// its own store, that a key is unique within one bucket however the
// prefix and outfile divide it, that the same outfile in two stores is
// two outfiles, and that a store keeps one kmsKeyId.
func TestStoresAcrossFiles(t *testing.T) {
	head := func(store string) string {
		return "version: 1\nstore: " + store + "\ndefaults: {recipients: [" + key1 + "], outfile: '{{.Name}}.age'}\ndevices:\n"
	}
	dir := writeManifests(t, map[string]string{
		"a.yaml": head("s3://abc/p/") + "  - name: alice\n",
		"b.yaml": head("s3://abc/q/") + "  - name: alice2\n",
		"c.yaml": "version: 1\ndefaults: {recipients: [" + key1 + "]}\ndevices:\n  - name: carol\n",
	})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{m.Devices[0].Outfile, m.Devices[1].Outfile, m.Devices[2].Store.URL}; !reflect.DeepEqual(got, []string{"s3://abc/p/alice.age", "s3://abc/q/alice2.age", ""}) {
		t.Errorf("outfiles and stores %q", got)
	}
	if len(m.Stores) != 2 || m.Stores[0].Prefix != "p/" || m.Stores[1].Prefix != "q/" {
		t.Errorf("stores %+v", m.Stores)
	}

	dir = writeManifests(t, map[string]string{
		"a.yaml": head("s3://abc/p/") + "  - name: x\n",
		"b.yaml": "version: 1\nstore: s3://abc/\ndefaults: {recipients: [" + key1 + "]}\ndevices:\n  - name: y\n    outfile: p/x.age\n",
	})
	if got := diagsOf(t, loadErr(Load(dir))); len(got) != 1 || !strings.Contains(got[0], `b.yaml:6:14 outfile-unique: outfile "s3://abc/p/x.age" of device "y" is also the outfile of "x" (`) {
		t.Errorf("same key through two prefixes: %q", got)
	}

	dir = writeManifests(t, map[string]string{
		"a.yaml": head("{url: s3://abc/p/, kmsKeyId: alias/one}") + "  - name: x\n",
		"b.yaml": head("{url: s3://abc/p/, kmsKeyId: alias/two}") + "  - name: y\n",
	})
	if got := diagsOf(t, loadErr(Load(dir))); len(got) != 1 || !strings.Contains(got[0], `b.yaml:2:14 store: store s3://abc/p/ has kmsKeyId "alias/two" here and "alias/one" at `) {
		t.Errorf("one store, two keys: %q", got)
	}
}

// TestStoresOfAccounts checks that manifests of several accounts each
// keep their own store, and that outfiles stay unique across them.
func TestStoresOfAccounts(t *testing.T) {
	file := func(account, store, name string) string {
		return "version: 1\naccount: '" + account + "'\nstore: " + store + "\ndefaults: {recipients: [" + key1 + "], outfile: 'x.age'}\ndevices:\n  - name: " + name + "\n"
	}
	dir := writeManifests(t, map[string]string{
		"a.yaml": file("111111111111", "s3://abc/111/", "a"),
		"b.yaml": file("222222222222", "s3://abc/222/", "a"),
	})
	ms, err := LoadAccounts(LoadOptions{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Stores[0].URL != "s3://abc/111/" || ms[1].Devices[0].Outfile != "s3://abc/222/x.age" {
		t.Errorf("accounts %+v %+v", ms[0], ms[1])
	}
	dir = writeManifests(t, map[string]string{
		"a.yaml": file("111111111111", "s3://abc/p/", "a"),
		"b.yaml": file("222222222222", "s3://abc/p/", "b"),
	})
	if _, err := LoadAccounts(LoadOptions{}, dir); err == nil || !strings.Contains(err.Error(), "is also the outfile of") {
		t.Errorf("one key for two accounts: %v", err)
	}
}

// TestParseStore checks the exported parser that commands use for a
// store given on the command line.
func TestParseStore(t *testing.T) {
	s, err := ParseStore("s3://abc/p/q/", "alias/k")
	if err != nil || s != (Store{URL: "s3://abc/p/q/", Bucket: "abc", Prefix: "p/q/", KMSKeyID: "alias/k"}) || s.IsFolder() {
		t.Errorf("ParseStore = %+v, %v", s, err)
	}
	if _, err := ParseStore("abc/p/", ""); err == nil || err.Error() != `store "abc/p/" is not an S3 URL: write s3://BUCKET/PREFIX/` {
		t.Errorf("ParseStore(abc/p/) = %v", err)
	}
}
