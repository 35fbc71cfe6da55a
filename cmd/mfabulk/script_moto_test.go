package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mfabulk/mfabulk/internal/store/s3store"
)

// cmdMoto gives a script an S3 store: moto_server on a free loopback
// port, started by the first moto command of the script and stopped at
// its end, with AWS_ENDPOINT_URL_S3 pointing at it (IAM stays iamlocal).
// A script using it starts with `[!moto] skip`: the condition is false
// when moto_server is not installed, unless MFABULK_REQUIRE_TOOLS=1.
//
//	moto bucket NAME            a bucket as the README asks for one:
//	                            versioned, public access blocked
//	moto bucket NAME unversioned  the same without versioning
//	moto put BUCKET KEY FILE    writes an object unconditionally, as
//	                            another principal would
//	moto cat BUCKET KEY         prints an object
//	moto keys BUCKET            prints every key, one a line
func cmdMoto(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: moto bucket|put|cat|keys …")
	}
	c := motoClient(ts)
	ctx := context.Background()
	switch {
	case args[0] == "bucket" && (len(args) == 2 || len(args) == 3 && args[2] == "unversioned"):
		b := aws.String(args[1])
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
		ts.Check(err)
		if len(args) == 3 {
			return
		}
		_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
		ts.Check(err)
		_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		}})
		ts.Check(err)
	case args[0] == "put" && len(args) == 4:
		data, err := os.ReadFile(ts.MkAbs(args[3]))
		ts.Check(err)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(args[1]), Key: aws.String(args[2]), Body: bytes.NewReader(data)})
		ts.Check(err)
	case args[0] == "cat" && len(args) == 3:
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(args[1]), Key: aws.String(args[2])})
		ts.Check(err)
		defer out.Body.Close()
		_, err = io.Copy(ts.Stdout(), out.Body)
		ts.Check(err)
	case args[0] == "keys" && len(args) == 2:
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(args[1])})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			ts.Check(err)
			for _, o := range page.Contents {
				fmt.Fprintln(ts.Stdout(), aws.ToString(o.Key))
			}
		}
	default:
		ts.Fatalf("moto: bad arguments %q", args)
	}
}

// motoClient starts the script's moto_server on first use and returns an
// S3 client for it.
func motoClient(ts *testscript.TestScript) *s3.Client {
	url := ts.Getenv("AWS_ENDPOINT_URL_S3")
	if url == "" {
		url = startScriptMoto(ts)
		ts.Setenv("AWS_ENDPOINT_URL_S3", url)
	}
	return s3store.NewClient(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}, url)
}

func startScriptMoto(ts *testscript.TestScript) string {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		ts.Fatalf("moto_server is not installed (python3 moto[server]): start the script with [!moto] skip")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	ts.Check(cmd.Start())
	ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
	}
	ts.Fatalf("moto_server did not start on %s:\n%s", url, logs.String())
	return ""
}
