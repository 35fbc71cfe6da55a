package s3store

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/store/s3store/s3test"
)

// One moto_server serves the package's tests; each test makes its own
// buckets.
var (
	motoOnce sync.Once
	motoURL  string
	motoErr  error
	motoCmd  *exec.Cmd
	motoLogs bytes.Buffer
	motoStop func()
	buckets  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if motoStop != nil {
		motoStop()
	}
	if motoCmd != nil {
		motoCmd.Process.Kill()
		motoCmd.Wait()
	}
	os.Exit(code)
}

// moto returns the URL of the package's moto_server, starting it on a
// free loopback port at the first call; the test is skipped when
// moto_server is not installed.
func moto(t *testing.T) string {
	t.Helper()
	bin := reftools.Require(t, "moto_server", "python3 moto[server] (pip)")
	motoOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			motoErr = err
			return
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		motoCmd = exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		motoCmd.Stdout, motoCmd.Stderr = &motoLogs, &motoLogs
		if motoErr = motoCmd.Start(); motoErr != nil {
			return
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if resp, err := http.Get(url + "/moto-api/"); err == nil {
				resp.Body.Close()
				// moto's conditional writes are atomic only one at a time.
				motoURL, motoStop, motoErr = s3test.Serial(url)
				return
			}
		}
		motoErr = fmt.Errorf("moto_server did not start on %s", url)
	})
	if motoErr != nil {
		t.Fatalf("%v\n%s", motoErr, motoLogs.String())
	}
	return motoURL
}

// client is a real SDK client for moto, configured for region.
func client(t *testing.T, region string) *s3.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
	return NewClient(cfg, moto(t))
}

type bucketOpt struct {
	region      string
	unversioned bool
}

// newBucket makes a fresh bucket, versioned and blocking public access
// unless told otherwise.
func newBucket(t *testing.T, o bucketOpt) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("mfabulk-test-%d-%d", time.Now().UnixNano()%1e9, buckets.Add(1))
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	c := client(t, "us-east-1")
	if o.region != "" && o.region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(o.region)}
		c = client(t, o.region)
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	if !o.unversioned {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name), VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
	}}); err != nil {
		t.Fatal(err)
	}
	return name
}

const account = "123456789012"

func storeOf(bucket string) manifest.Store {
	return manifest.Store{URL: "s3://" + bucket + "/mfa/", Bucket: bucket, Prefix: "mfa/"}
}

// open returns a store of bucket under mfa/, with o's settings.
func open(t *testing.T, bucket string, o Options) *Backend {
	t.Helper()
	if o.Client == nil {
		o.Client = client(t, "us-east-1")
	}
	o.Store = storeOf(bucket)
	b, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func device(bucket, name string) manifest.Device {
	return manifest.Device{Name: name, Path: "/", Outfile: "s3://" + bucket + "/mfa/out/" + name + ".png.age", Store: storeOf(bucket)}
}

func intentOf(d manifest.Device) journal.Intent {
	id, proof := journal.NewCreateID()
	return journal.Intent{Device: d.Name, Path: d.Path, Account: account, Outfile: d.Outfile, Action: "create", CreateID: id, Proof: proof, Started: time.Now().UTC(), PID: os.Getpid()}
}

// raw writes an object unconditionally, as another principal would.
func raw(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	_, err := client(t, "us-east-1").PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
}

func rawGet(t *testing.T, bucket, key string) ([]byte, bool) {
	t.Helper()
	g, err := getObject(context.Background(), client(t, "us-east-1"), inRegion(""), bucket, key, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return g.data, g.found
}

func filesOf(t *testing.T, b *Backend, d manifest.Device) *files {
	t.Helper()
	f, err := b.Files(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return f.(*files)
}

func mustContain(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
