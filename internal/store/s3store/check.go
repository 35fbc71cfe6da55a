package s3store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Check is the store's preflight, before any IAM call: the bucket exists
// and is reachable (in its region, found here), the prefix can be listed,
// versioning is enabled (refused otherwise, with the command that
// enables it, unless allowed: then a warning), and public access is
// blocked (a warning otherwise). Default encryption is read for
// [Backend.Describe]. Each problem names the fix. Check writes nothing,
// with write or without: an apply's first write is a device's intent,
// which comes before that device's IAM call.
func (b *Backend) Check(ctx context.Context, devices []manifest.Device, write bool) []store.Problem {
	if len(devices) == 0 {
		return nil
	}
	first := devices[0].Name
	fail := func(err error) []store.Problem { return []store.Problem{{Device: first, Err: err}} }
	var problems []store.Problem
	for _, d := range devices {
		if _, err := b.object(d.Outfile); err != nil {
			problems = append(problems, store.Problem{Device: d.Name, Err: err})
		}
	}
	if len(problems) > 0 {
		return problems
	}
	opt, err := b.locate(ctx)
	if err != nil {
		return fail(err)
	}
	bucket := aws.String(b.st.Bucket)
	_, err = b.api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String(b.st.Prefix), MaxKeys: aws.Int32(1)}, opt)
	switch {
	case isAccessDenied(err):
		return fail(fmt.Errorf("listing %s: access denied: these credentials need s3:ListBucket on arn:aws:s3:::%s for the prefix %q (see the README's store policies)", b.url(), b.st.Bucket, b.st.Prefix))
	case err != nil:
		return fail(fmt.Errorf("listing %s: %w", b.url(), err))
	}

	var notes []string
	v, err := b.api.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket}, opt)
	switch {
	case isAccessDenied(err):
		return fail(fmt.Errorf("reading the versioning of bucket %s: access denied: these credentials need s3:GetBucketVersioning on arn:aws:s3:::%s", b.st.Bucket, b.st.Bucket))
	case err != nil:
		return fail(fmt.Errorf("reading the versioning of bucket %s: %w", b.st.Bucket, err))
	case v.Status == types.BucketVersioningStatusEnabled:
		notes = append(notes, "versioned")
	case b.allow:
		notes = append(notes, "unversioned")
		problems = append(problems, store.Problem{Device: first, Warning: true, Err: fmt.Errorf("bucket %s does not keep versions (allowed by --allow-unversioned-store): an outfile deleted or overwritten by anyone else cannot be recovered; enable versioning: aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled", b.st.Bucket, b.st.Bucket)})
	default:
		return fail(fmt.Errorf("bucket %s does not keep versions, so an outfile deleted or overwritten by anyone else could not be recovered: enable versioning with `aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled`, or pass --allow-unversioned-store", b.st.Bucket, b.st.Bucket))
	}

	if w := b.publicAccess(ctx, opt); w != nil {
		problems = append(problems, store.Problem{Device: first, Warning: true, Err: w})
	}
	notes = append(notes, b.encryption(ctx, opt))
	b.mu.Lock()
	b.describe = strings.Join(notes, ", ")
	b.mu.Unlock()
	return problems
}

// publicAccess returns a warning unless the bucket blocks public access
// in all four ways.
func (b *Backend) publicAccess(ctx context.Context, opt func(*s3.Options)) error {
	fix := fmt.Sprintf("block it: aws s3api put-public-access-block --bucket %s --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true", b.st.Bucket)
	out, err := b.api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b.st.Bucket)}, opt)
	switch {
	case errorCode(err) == "NoSuchPublicAccessBlockConfiguration" || (err != nil && isNotFound(err)):
		return fmt.Errorf("bucket %s does not block public access; %s", b.st.Bucket, fix)
	case isAccessDenied(err):
		return fmt.Errorf("could not read whether bucket %s blocks public access (s3:GetBucketPublicAccessBlock denied)", b.st.Bucket)
	case err != nil:
		return fmt.Errorf("could not read whether bucket %s blocks public access: %w", b.st.Bucket, err)
	}
	c := out.PublicAccessBlockConfiguration
	if c == nil || !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
		return fmt.Errorf("bucket %s does not block public access in all four ways; %s", b.st.Bucket, fix)
	}
	return nil
}

// encryption says how objects are encrypted at rest: the manifest's KMS
// key, else the bucket's default.
func (b *Backend) encryption(ctx context.Context, opt func(*s3.Options)) string {
	if b.st.KMSKeyID != "" {
		return "SSE-KMS " + b.st.KMSKeyID
	}
	out, err := b.api.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b.st.Bucket)}, opt)
	switch {
	case errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError":
		return "no default encryption"
	case err != nil:
		return "default encryption unknown"
	}
	if c := out.ServerSideEncryptionConfiguration; c != nil {
		for _, r := range c.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				switch d.SSEAlgorithm {
				case types.ServerSideEncryptionAes256:
					return "SSE-S3"
				case types.ServerSideEncryptionAwsKms, types.ServerSideEncryptionAwsKmsDsse:
					if k := aws.ToString(d.KMSMasterKeyID); k != "" {
						return "SSE-KMS " + k
					}
					return "SSE-KMS"
				}
			}
		}
	}
	return "no default encryption"
}
