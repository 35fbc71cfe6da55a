package refresh_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/refresh"
)

func TestObserveReadsTagsOnlyWhenManaged(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{})
	for _, n := range []string{"a", "b", "other"} {
		srv.CreateDevice(n, "/", iamlocal.Tag{Key: "k", Value: n})
	}
	url, _ := srv.Listen("127.0.0.1:0")
	defer srv.Close()
	localtest.UseEndpoint(t, url)
	client, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: url})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &manifest.Manifest{Devices: []manifest.Device{
		{Name: "a", Path: "/", Outfile: filepath.Join(dir, "a.age")},
		{Name: "B", Path: "/", Outfile: filepath.Join(dir, "b.age")},
		{Name: "missing", Path: "/", Outfile: filepath.Join(dir, "m.age")},
	}}
	obs, err := refresh.Observe(context.Background(), client, m, refresh.Options{})
	if err != nil || obs.Tags != nil || srv.Requests()["ListMFADeviceTags"] != 0 {
		t.Fatalf("tagless: tags %v, %d tag calls, %v", obs.Tags, srv.Requests()["ListMFADeviceTags"], err)
	}
	if obs.Account != "123456789012" || len(obs.Devices) != 3 {
		t.Errorf("observed %+v", obs)
	}
	m.ManagesTags = true
	var progress int
	obs, err = refresh.Observe(context.Background(), client, m, refresh.Options{Progress: func(done, total int) { progress = total }})
	if err != nil {
		t.Fatal(err)
	}
	// Only the manifest's devices that exist (b matched case-insensitively,
	// keyed as IAM spells it); never "other".
	if len(obs.Tags) != 2 || obs.Tags["a"]["k"] != "a" || obs.Tags["b"]["k"] != "b" || progress != 2 {
		t.Errorf("tags %v, progress total %d", obs.Tags, progress)
	}
	obs, _ = refresh.Observe(context.Background(), client, m, refresh.Options{Targets: []string{"A"}})
	if len(obs.Tags) != 1 {
		t.Errorf("with --target a: tags %v", obs.Tags)
	}
}
