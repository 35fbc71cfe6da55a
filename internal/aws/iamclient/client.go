// Package iamclient is the one place mfabulk talks to AWS: it builds
// aws-sdk-go-v2's IAM and STS clients from the options a user of the AWS CLI
// expects (profile, region, endpoint URL, and the SDK's own AWS_*
// variables) and offers the handful of calls mfabulk makes, in mfabulk's
// own terms.
//
// Consumers declare the small interface they need; [Client] satisfies them.
package iamclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfabulk/mfabulk/internal/aws/pace"
	"github.com/mfabulk/mfabulk/internal/device"
)

// Options select the account and endpoint. Empty fields fall back to the
// SDK's own resolution (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_IAM, shared config files).
type Options struct {
	Profile     string
	Region      string
	EndpointURL string
	MaxAttempts int           // per call, including the first; 0: AWS_MAX_ATTEMPTS, else 10
	MaxBackoff  time.Duration // longest wait between attempts; 0 means 20s
	Debug       io.Writer     // where to log each attempt of each call; nil: nowhere
	// CABundle is a PEM file of certificate authorities to trust for
	// TLS, as the AWS CLI's --ca-bundle (a TLS-intercepting proxy's);
	// "" leaves it to AWS_CA_BUNDLE, else the system's.
	CABundle string

	// Timeouts; 0 means the Default* value, a negative one is an error.
	ConnectTimeout time.Duration // to establish a connection (TCP and TLS)
	ReadTimeout    time.Duration // the longest a connection may stay silent while an answer is due
	CallTimeout    time.Duration // one call with all its retries and backoff

	// Parallelism is the most IAM calls in flight at once, the ceiling of
	// the pacer's adaptive limit; 0 means DefaultParallelism.
	Parallelism int
	// MaxRate caps the IAM calls started a second; 0 is no cap.
	MaxRate float64
}

// timeouts are the effective timeouts of a client.
type timeouts struct{ connect, read, call time.Duration }

func (o Options) timeouts() (timeouts, error) {
	t := timeouts{o.ConnectTimeout, o.ReadTimeout, o.CallTimeout}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
		k   TimeoutKind
	}{{&t.connect, DefaultConnectTimeout, ConnectTimeout}, {&t.read, DefaultReadTimeout, ReadTimeout}, {&t.call, DefaultCallTimeout, CallTimeout}} {
		switch {
		case *f.v < 0:
			return timeouts{}, fmt.Errorf("%s %v: must be positive", f.k.Flag(), *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	return t, nil
}

// Client wraps the SDK clients.
type Client struct {
	iam  *iam.Client
	sts  *sts.Client
	cfg  aws.Config       // for Identity's region, endpoint and credential source
	pace *pace.Controller // every attempt of every IAM call goes through it
	// paceOpts makes the controller of each client WithRole derives:
	// IAM throttles each account on its own.
	paceOpts pace.Options
	// role is the ARN of the role the client assumed (WithRole), "" for
	// the base credentials.
	role string
}

// New loads AWS configuration and builds the clients.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := loadConfig(ctx, opts, true)
	if err != nil {
		return nil, err
	}
	if opts.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(opts.EndpointURL)
	}
	parallelism := opts.Parallelism
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	// One pacer for the run's IAM calls: IAM throttles each account as a
	// whole. STS (one call a command) has its own limits and is not paced.
	po := pace.Options{Ceiling: parallelism, MaxRate: opts.MaxRate}
	pc := pace.New(po)
	return &Client{iam: pacedIAM(cfg, pc), sts: sts.NewFromConfig(cfg), cfg: cfg, pace: pc, paceOpts: po}, nil
}

// StoreConfig is the configuration of the S3 store's client: the same
// credentials (the base ones, never a manifest's role: one bucket serves
// every account), timeouts, retries, CA bundle and --debug log as the IAM
// client's, without its endpoint (--endpoint-url is IAM's and STS's; S3's
// comes from the SDK's own AWS_ENDPOINT_URL_S3 or --s3-endpoint-url) and
// without its pacer (S3's limits are per prefix, and far higher). Nor
// has it the call timeout, which ends a call's context when the call
// returns: a GetObject's body is read after that, and would be cut. The
// connect and read timeouts, which are the HTTP client's, still bound
// every S3 call, attempts by the retryer.
func StoreConfig(ctx context.Context, opts Options) (aws.Config, error) {
	return loadConfig(ctx, opts, false)
}

// loadConfig loads the SDK's configuration with mfabulk's HTTP client,
// timeouts (with callTimeout, the call timeout too), retryer and logging.
func loadConfig(ctx context.Context, opts Options, callTimeout bool) (aws.Config, error) {
	t, err := opts.timeouts()
	if err != nil {
		return aws.Config{}, err
	}
	parallelism := opts.Parallelism
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	if opts.MaxRate < 0 || math.IsNaN(opts.MaxRate) || math.IsInf(opts.MaxRate, 0) {
		return aws.Config{}, fmt.Errorf("max rate %v: must be a number of calls a second, 0 for none", opts.MaxRate)
	}
	// Given to the loader, so that AWS_CA_BUNDLE still applies to it.
	loaders := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient(t.connect, t.read, parallelism)),
		config.WithLogger(sdkLogger(opts.Debug)),
	}
	if opts.CABundle != "" {
		pem, err := os.ReadFile(opts.CABundle)
		if err != nil {
			return aws.Config{}, fmt.Errorf("reading the CA bundle: %w", err)
		}
		loaders = append(loaders, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	if opts.Profile != "" {
		loaders = append(loaders, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = cfg.RetryMaxAttempts // AWS_MAX_ATTEMPTS or max_attempts in the profile
	}
	if attempts == 0 {
		attempts = 10
	}
	// Counted by track, not by the SDK, which would count throttled
	// attempts too (and wrap the retryer to do so if this were set).
	cfg.RetryMaxAttempts = 0
	r := newRetryer(opts.MaxBackoff)
	cfg.Retryer = func() aws.Retryer { return r }
	if cfg.Region == "" {
		// IAM is a global service; its endpoint and signature live in us-east-1.
		cfg.Region = "us-east-1"
	}
	if b, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		// Frozen, so that a defaults_mode in the profile cannot replace
		// the connect timeout with its own.
		cfg.HTTPClient = b.Freeze()
	}
	cfg.APIOptions = append(cfg.APIOptions, addMiddleware(opts.Debug, t, r, attempts, callTimeout))
	return cfg, nil
}

// pacedIAM is an IAM client whose every attempt goes through pc.
func pacedIAM(cfg aws.Config, pc *pace.Controller) *iam.Client {
	return iam.NewFromConfig(cfg, func(o *iam.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(pacing(pc), "Retry", middleware.After)
		})
	})
}

// Account returns the caller's account ID and ARN partition ("aws",
// "aws-cn", "aws-us-gov"), from STS.
func (c *Client) Account(ctx context.Context) (account, partition string, err error) {
	out, err := c.callerIdentity(ctx)
	if err != nil {
		return "", "", err
	}
	partition = "aws"
	if parts := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(parts) == 3 && parts[1] != "" {
		partition = parts[1]
	}
	return aws.ToString(out.Account), partition, nil
}

// ListDevices returns every virtual MFA device in the account, following
// IAM's pages to the end.
func (c *Client) ListDevices(ctx context.Context) ([]device.Observed, error) {
	var out []device.Observed
	p := iam.NewListVirtualMFADevicesPaginator(c.iam, &iam.ListVirtualMFADevicesInput{
		AssignmentStatus: types.AssignmentStatusTypeAny,
		MaxItems:         aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:ListVirtualMFADevices: %w", classify(plain(err)))
		}
		for _, d := range page.VirtualMFADevices {
			o, err := observed(d)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func observed(d types.VirtualMFADevice) (device.Observed, error) {
	serial := aws.ToString(d.SerialNumber)
	path, name, err := device.ParseSerial(serial)
	if err != nil {
		return device.Observed{}, err
	}
	o := device.Observed{Serial: serial, Name: name, Path: path, EnableDate: aws.ToTime(d.EnableDate)}
	if d.User != nil {
		o.User = aws.ToString(d.User.UserName)
	}
	return o, nil
}

// Create creates a virtual MFA device. Its error wraps device.ErrSeedLost
// or device.ErrMaybeCommitted when an earlier attempt of the call may have
// created the device.
func (c *Client) Create(ctx context.Context, name, path string, tags map[string]string) (*device.Created, error) {
	in := &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(name), Path: aws.String(path)}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	ctx, call := withCall(ctx)
	out, err := c.iam.CreateVirtualMFADevice(ctx, in)
	if err != nil {
		// Only an earlier attempt that got no answer, or a server fault,
		// may have been committed: a throttled one was refused.
		var exists *types.EntityAlreadyExistsException
		n, uncertain := call.attempts.Load(), call.uncertainBefore()
		if errors.As(err, &exists) && uncertain {
			return nil, fmt.Errorf("iam:CreateVirtualMFADevice (attempt %d): %w: %w", n, device.ErrSeedLost, classify(err))
		}
		if uncertain {
			return nil, fmt.Errorf("iam:CreateVirtualMFADevice (attempt %d): %w: %w", n, device.ErrMaybeCommitted, classify(plain(err)))
		}
		return nil, fmt.Errorf("iam:CreateVirtualMFADevice: %w", classify(plain(err)))
	}
	d := out.VirtualMFADevice
	if d == nil || d.SerialNumber == nil {
		return nil, errors.New("iam:CreateVirtualMFADevice: response has no device")
	}
	created := &device.Created{Serial: *d.SerialNumber, Base32StringSeed: d.Base32StringSeed, QRCodePNG: d.QRCodePNG, Answered: time.Now()}
	// IAM's clock, from the answer's Date header as the SDK records it:
	// EnableMFADevice's codes are computed from it, so that a machine
	// whose clock is off still enables the device.
	if t, ok := awsmiddleware.GetServerTime(out.ResultMetadata); ok {
		created.ServerTime = t
	}
	return created, nil
}

// Delete deletes a virtual MFA device.
func (c *Client) Delete(ctx context.Context, serial string) error {
	_, err := c.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
	if err != nil {
		return fmt.Errorf("iam:DeleteVirtualMFADevice: %w", classify(plain(err)))
	}
	return nil
}

// ErrorCode returns the AWS error code inside err ("EntityAlreadyExists",
// "Throttling", …), or "" when err did not come from AWS.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// classify wraps an error IAM answered in a device.APIError, which tells
// callers its code and whether it refused the call, without their knowing
// the SDK; other errors are returned as they are.
func classify(err error) error {
	code, refused := ErrorCode(err), isRefusal(err)
	if code == "" && !refused {
		return err
	}
	return &device.APIError{Code: code, Refused: refused, Err: err}
}

// isRefusal reports whether err is IAM's answer refusing a call (a 4xx
// error), so that nothing changed. Network errors, cancelled calls and
// server faults are not refusals: the call may have taken effect.
func isRefusal(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	status := re.HTTPStatusCode()
	return status >= 400 && status < 500
}
