package stores

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

var bucket = manifest.Store{URL: "s3://bucket/team/", Bucket: "bucket", Prefix: "team/"}

func device(t *testing.T, name string, s manifest.Store) manifest.Device {
	base := t.TempDir()
	d := manifest.Device{Name: name, Path: "/", Outfile: filepath.Join(base, "out", name+".age"),
		Pos: manifest.Pos{File: filepath.Join(base, "m.yaml")}, Store: s}
	if !s.IsFolder() {
		d.Outfile = s.URL + name + ".age"
	}
	return d
}

func TestS3WithoutOpenS3IsAnError(t *testing.T) {
	ctx := context.Background()
	s := New(Options{})
	defer s.Close()
	d := device(t, "alice", bucket)
	want := `device "alice": store s3://bucket/team/: S3 stores are not configured`
	if _, err := s.Files(ctx, d); err == nil || err.Error() != want {
		t.Errorf("Files = %v, want %q", err, want)
	}
	if _, err := s.Read(ctx, "1", []manifest.Device{d}); err == nil || err.Error() != want {
		t.Errorf("Read = %v, want %q", err, want)
	}
	ps := s.Check(ctx, []manifest.Device{device(t, "bob", manifest.Store{}), d}, false)
	if len(ps) != 1 || ps[0].Device != "alice" || ps[0].Err.Error() != want {
		t.Errorf("Check = %+v, want one problem of alice: %q", ps, want)
	}
}

// fake is an S3 backend that records the devices it is given.
type fake struct {
	store.Backend // calls it does not fake panic
	mu            sync.Mutex
	got           []string
	closed        bool
}

func (f *fake) saw(devices ...manifest.Device) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range devices {
		f.got = append(f.got, d.Name)
	}
}

func (f *fake) Read(_ context.Context, _ string, devices []manifest.Device) (map[string]store.Evidence, error) {
	f.saw(devices...)
	out := map[string]store.Evidence{}
	for _, d := range devices {
		out[d.Name] = store.Evidence{Outfile: true, IntentVersion: "etag-" + d.Name}
	}
	return out, nil
}

func (f *fake) Files(_ context.Context, d manifest.Device) (store.Files, error) {
	f.saw(d)
	return nil, errors.New("fake files")
}

func (f *fake) Check(_ context.Context, devices []manifest.Device, _ bool) []store.Problem {
	f.saw(devices...)
	return []store.Problem{{Device: devices[0].Name, Err: errors.New("versioning is off"), Warning: true}}
}

func (f *fake) Owned(_ context.Context, _ string, devices []manifest.Device) (map[string]store.Files, error) {
	f.saw(devices...)
	return map[string]store.Files{}, nil
}

func (f *fake) Close() error { f.closed = true; return nil }

func TestS3DevicesGoToTheirBackendOnly(t *testing.T) {
	ctx := context.Background()
	other := manifest.Store{URL: "s3://other/", Bucket: "other"}
	fakes := map[string]*fake{}
	var opened atomic.Int32
	s := New(Options{OpenS3: func(_ context.Context, st manifest.Store) (store.Backend, error) {
		opened.Add(1)
		f := &fake{}
		fakes[st.URL] = f
		return f, nil
	}})
	local := device(t, "local", manifest.Store{})
	a1, a2, b1 := device(t, "a1", bucket), device(t, "a2", bucket), device(t, "b1", other)
	all := []manifest.Device{a1, local, b1, a2}

	ev, err := s.Read(ctx, "1", all)
	if err != nil {
		t.Fatal(err)
	}
	if ev["a1"].IntentVersion != "etag-a1" || ev["b1"].IntentVersion != "etag-b1" {
		t.Errorf("Read = %+v, want each S3 device's evidence from its backend", ev)
	}
	if _, ok := ev["local"]; ok {
		t.Errorf("Read has evidence of a folder device whose folder does not exist: %+v", ev["local"])
	}
	ps := s.Check(ctx, all, true)
	if len(ps) != 2 || ps[0].Device != "a1" || ps[1].Device != "b1" {
		t.Errorf("Check = %+v, want the warnings of a1's and b1's stores", ps)
	}
	if _, err := s.Owned(ctx, "1", all); err != nil {
		t.Fatal(err)
	}
	// Concurrent Files, as apply's goroutines call it: each store opened once.
	var wg sync.WaitGroup
	for _, d := range all {
		wg.Go(func() {
			if _, err := s.Files(ctx, d); d.Store.IsFolder() != (err == nil) {
				t.Errorf("Files(%s) = %v", d.Name, err)
			}
		})
	}
	wg.Wait()
	if n := opened.Load(); n != 2 {
		t.Errorf("OpenS3 was called %d times, want once per store (2)", n)
	}
	for url, f := range fakes {
		for _, name := range f.got {
			if !strings.HasPrefix(name, map[string]string{bucket.URL: "a", other.URL: "b"}[url]) {
				t.Errorf("store %s was given device %s", url, name)
			}
		}
	}
	if got := fakes[bucket.URL].got; len(got) != 2+2+2+2 {
		t.Errorf("store %s was given %v, want a1 and a2 for each of Read, Check, Owned and Files", bucket.URL, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !fakes[bucket.URL].closed || !fakes[other.URL].closed {
		t.Errorf("Close left an S3 backend open")
	}
}

func TestOpenS3FailureIsEachDevicesError(t *testing.T) {
	ctx := context.Background()
	var opened atomic.Int32
	s := New(Options{OpenS3: func(context.Context, manifest.Store) (store.Backend, error) {
		opened.Add(1)
		return nil, errors.New("bucket not found")
	}})
	defer s.Close()
	for _, name := range []string{"a", "b"} {
		_, err := s.Files(ctx, device(t, name, bucket))
		if want := `device "` + name + `": store s3://bucket/team/: bucket not found`; err == nil || err.Error() != want {
			t.Errorf("Files = %v, want %q", err, want)
		}
	}
	if opened.Load() != 1 {
		t.Errorf("OpenS3 was called %d times for one store, want 1", opened.Load())
	}
}
