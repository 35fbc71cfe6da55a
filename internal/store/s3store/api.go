package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// API is the part of the S3 client the store uses; *s3.Client implements
// it, and a test can wrap one to inject faults.
type API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// NewClient returns an S3 client for cfg. endpointURL (--s3-endpoint-url)
// overrides the endpoint; the SDK's own settings (AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL, the profile's services section) come through cfg. With
// any custom endpoint the client addresses buckets by path, as S3-
// compatible servers (moto, MinIO) expect; AWS's own endpoints keep
// virtual-hosted addressing.
func NewClient(cfg aws.Config, endpointURL string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
}

// BucketRegion finds the region bucket is in, whatever region api's
// client is configured for: from HeadBucket's answer, or, when the
// client's region is wrong and S3 answers 301 or 400, from the
// x-amz-bucket-region header of that answer. "" when the server names
// none (an S3-compatible server without regions): the client's region
// is then used as it is.
func BucketRegion(ctx context.Context, api API, bucket string) (string, error) {
	out, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion), nil
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("x-amz-bucket-region"); r != "" {
			switch re.HTTPStatusCode() {
			case http.StatusMovedPermanently, http.StatusBadRequest, http.StatusTemporaryRedirect:
				return r, nil
			case http.StatusForbidden:
				// The bucket exists, in r; whether these credentials
				// may use it is for the calls that follow to say.
				return r, nil
			}
		}
	}
	switch {
	case isNotFound(err):
		return "", fmt.Errorf("bucket %s does not exist (or these credentials cannot see it): create it, or correct the manifest's store: %w", bucket, errNoBucket)
	case isAccessDenied(err):
		return "", fmt.Errorf("reading bucket %s: access denied (s3:ListBucket on arn:aws:s3:::%s): grant it to these credentials: %w", bucket, bucket, err)
	}
	return "", fmt.Errorf("reaching bucket %s: %w", bucket, err)
}

var errNoBucket = errors.New("no such bucket")

// inRegion is the per-call option that sends a call to the bucket's
// region ("" leaves the client's).
func inRegion(region string) func(*s3.Options) {
	return func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
	}
}

func statusCode(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isPreconditionFailed: a conditional write or delete found the object
// not as it was told: If-None-Match: * on an existing key, If-Match on
// another ETag (412) or on no object at all (404, see errGone), or
// another conditional write of the key under way (S3's 409
// ConditionalRequestConflict). Nothing was written.
func isPreconditionFailed(err error) bool {
	return statusCode(err) == http.StatusPreconditionFailed || errorCode(err) == "PreconditionFailed" ||
		errorCode(err) == "ConditionalRequestConflict" || errors.Is(err, errGone)
}

// errGone marks S3's answer to a write or delete If-Match an ETag when
// there is no object: 404 NoSuchKey, not 412; for mfabulk the same
// failed condition.
var errGone = errors.New("the object is gone")

// ifMatchErr turns a 404 to an If-Match write or delete into errGone.
func ifMatchErr(err error) error {
	if err != nil && isNotFound(err) && errorCode(err) != "NoSuchBucket" {
		return fmt.Errorf("%w: %w", errGone, err)
	}
	return err
}

func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchBucket":
		return true
	}
	return statusCode(err) == http.StatusNotFound
}

func isAccessDenied(err error) bool {
	return errorCode(err) == "AccessDenied" || statusCode(err) == http.StatusForbidden
}
