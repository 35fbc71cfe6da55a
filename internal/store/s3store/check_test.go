package s3store

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

func checkOne(t *testing.T, b *Backend, bucket string) []store.Problem {
	t.Helper()
	return b.Check(context.Background(), []manifest.Device{device(bucket, "alice"), device(bucket, "bob")}, false)
}

func TestCheckMissingBucket(t *testing.T) {
	b := open(t, "mfabulk-no-such-bucket", Options{})
	p := checkOne(t, b, "mfabulk-no-such-bucket")
	if len(p) != 1 || p[0].Warning || p[0].Device != "alice" {
		t.Fatalf("Check = %+v, want one error for alice", p)
	}
	mustContain(t, p[0].Err, "bucket mfabulk-no-such-bucket does not exist", "create it")
}

func TestCheckVersioning(t *testing.T) {
	bucket := newBucket(t, bucketOpt{unversioned: true})
	p := checkOne(t, open(t, bucket, Options{}), bucket)
	if len(p) != 1 || p[0].Warning {
		t.Fatalf("Check of an unversioned bucket = %+v, want one error", p)
	}
	mustContain(t, p[0].Err, "aws s3api put-bucket-versioning --bucket "+bucket+" --versioning-configuration Status=Enabled", "--allow-unversioned-store")

	b := open(t, bucket, Options{AllowUnversioned: true})
	p = checkOne(t, b, bucket)
	if len(p) != 1 || !p[0].Warning {
		t.Fatalf("Check allowing an unversioned bucket = %+v, want one warning", p)
	}
	mustContain(t, p[0].Err, "allowed by --allow-unversioned-store")
	if !strings.Contains(b.Describe(), "(unversioned") {
		t.Errorf("Describe = %q", b.Describe())
	}
}

func TestCheckPublicAccessAndEncryption(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	c := client(t, "us-east-1")
	if _, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	b := open(t, bucket, Options{})
	p := checkOne(t, b, bucket)
	if len(p) != 1 || !p[0].Warning {
		t.Fatalf("Check of a bucket not blocking public access = %+v, want one warning", p)
	}
	mustContain(t, p[0].Err, "aws s3api put-public-access-block --bucket "+bucket)

	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/mfa")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkOne(t, b, bucket)
	if got, want := b.Describe(), "s3://"+bucket+"/mfa/ (versioned, SSE-KMS alias/mfa)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

// gate stands between the SDK and moto as S3 itself would for a bucket
// in region: a request signed for another region is answered as S3
// answers it (HEAD: 301; others: 400 AuthorizationHeaderMalformed, both
// naming the region in x-amz-bucket-region), and requests deny matches
// get S3's 403 AccessDenied.
type gate struct {
	region string
	deny   func(*http.Request) bool

	mu      sync.Mutex
	regions map[string]int // signing regions of the requests passed on
}

var credRegion = regexp.MustCompile(`Credential=[^/]+/[0-9]+/([^/]+)/s3/`)

func (g *gate) start(t *testing.T) string {
	target, _ := url.Parse(moto(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credRegion.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || m[1] != g.region {
			w.Header().Set("x-amz-bucket-region", g.region)
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region is wrong; expecting '%s'</Message><Region>%s</Region></Error>`, g.region, g.region)
			return
		}
		if g.deny != nil && g.deny(r) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		g.mu.Lock()
		if g.regions == nil {
			g.regions = map[string]int{}
		}
		g.regions[m[1]]++
		g.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func clientFor(endpoint, region string) *s3.Client {
	return NewClient(aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}, endpoint)
}

// A client configured for the wrong region finds the bucket's and works
// there: S3's 301 and 400 name it.
func TestWrongRegionIsDiscovered(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{region: "eu-west-1"})
	g := &gate{region: "eu-west-1"}
	b := open(t, bucket, Options{Client: clientFor(g.start(t), "us-east-1")})
	if p := checkOne(t, b, bucket); len(p) != 0 {
		t.Fatalf("Check = %+v", p)
	}
	d := device(bucket, "alice")
	write(t, b, d, []byte("ct"), store.Seen{}, "")
	ev, err := b.Read(ctx, account, []manifest.Device{d})
	if err != nil || !ev["alice"].Proven {
		t.Fatalf("Read = %+v, %v", ev, err)
	}
	ct, rec, err := ReadOutfile(ctx, clientFor(g.start(t), "ap-south-1"), d.Outfile)
	if err != nil || string(ct) != "ct" || rec == nil {
		t.Fatalf("ReadOutfile from the wrong region = %q, %v, %v", ct, rec, err)
	}
	if len(g.regions) != 1 || g.regions["eu-west-1"] == 0 {
		t.Fatalf("requests passed, by signing region: %v", g.regions)
	}
}

// AccessDenied on the prefix names the action and the prefix.
func TestCheckAccessDeniedOnThePrefix(t *testing.T) {
	bucket := newBucket(t, bucketOpt{})
	g := &gate{region: "us-east-1", deny: func(r *http.Request) bool { return r.URL.Query().Get("list-type") == "2" }}
	b := open(t, bucket, Options{Client: clientFor(g.start(t), "us-east-1")})
	p := checkOne(t, b, bucket)
	if len(p) != 1 || p[0].Warning {
		t.Fatalf("Check = %+v, want one error", p)
	}
	mustContain(t, p[0].Err, "access denied", "s3:ListBucket", "arn:aws:s3:::"+bucket, `"mfa/"`)
}

func TestCheckRefusesOutfilesOutsideTheStore(t *testing.T) {
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "alice")
	d.Outfile = "s3://" + bucket + "/elsewhere/alice.png.age"
	p := b.Check(context.Background(), []manifest.Device{d}, true)
	if len(p) != 1 {
		t.Fatalf("Check = %+v", p)
	}
	mustContain(t, p[0].Err, "is not in the store")
}

// The SDK's own endpoint settings (AWS_ENDPOINT_URL_S3 here) reach the
// client through aws.Config, and any custom endpoint means path-style
// addressing; AWS's own keeps virtual-hosted.
func TestNewClientEndpoints(t *testing.T) {
	endpoint := moto(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_ENDPOINT_URL", "")
	os.Unsetenv("AWS_ENDPOINT_URL")
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(cfg, "")
	if o := c.Options(); !o.UsePathStyle || aws.ToString(o.BaseEndpoint) != endpoint {
		t.Fatalf("with AWS_ENDPOINT_URL_S3: path style %v, endpoint %q", o.UsePathStyle, aws.ToString(o.BaseEndpoint))
	}
	bucket := newBucket(t, bucketOpt{})
	if _, err := BucketRegion(ctx, c, bucket); err != nil {
		t.Fatal(err)
	}
	if o := NewClient(cfg, "http://127.0.0.1:1").Options(); !o.UsePathStyle || aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Fatalf("with --s3-endpoint-url: path style %v, endpoint %q", o.UsePathStyle, aws.ToString(o.BaseEndpoint))
	}
	os.Unsetenv("AWS_ENDPOINT_URL_S3")
	cfg, err = config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if o := NewClient(cfg, "").Options(); o.UsePathStyle || o.BaseEndpoint != nil {
		t.Fatalf("on AWS: path style %v, endpoint %q", o.UsePathStyle, aws.ToString(o.BaseEndpoint))
	}
}
