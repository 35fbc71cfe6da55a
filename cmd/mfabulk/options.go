package main

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/view"
)

// awsOptions are the AWS CLI's options that plan and apply take.
type awsOptions struct {
	Profile        string
	Region         string
	EndpointURL    string
	S3EndpointURL  string // the S3 store's endpoint (path-style)
	CABundle       string
	MaxBackoff     time.Duration
	Debug          bool
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	CallTimeout    time.Duration
}

// addAWSFlags adds the options a user of the AWS CLI expects.
func addAWSFlags(cmd *cobra.Command, o *awsOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Profile, "profile", "", "AWS shared config `profile` (default: AWS_PROFILE)")
	f.StringVar(&o.Region, "region", "", "AWS `region` (default: AWS_REGION, then us-east-1; IAM is global)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "IAM and STS endpoint `URL` (default: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL)")
	f.StringVar(&o.S3EndpointURL, "s3-endpoint-url", "", "S3 endpoint `URL` of the manifests' store:, addressed path-style (default: AWS_ENDPOINT_URL_S3, the profile's s3 section)")
	f.StringVar(&o.CABundle, "ca-bundle", "", "PEM `file` of certificate authorities to trust, for a TLS-intercepting proxy (default: AWS_CA_BUNDLE, else the system's)")
	f.DurationVar(&o.MaxBackoff, "max-backoff", 20*time.Second, "longest wait between retries of a throttled or failed call (attempts: AWS_MAX_ATTEMPTS, default 10)")
	f.BoolVar(&o.Debug, "debug", false, "log every AWS request, response status and retry to stderr (never bodies, so never a secret)")
	f.DurationVar(&o.ConnectTimeout, "connect-timeout", iamclient.DefaultConnectTimeout, "longest wait to connect to the endpoint (as the AWS CLI's --cli-connect-timeout)")
	f.DurationVar(&o.ReadTimeout, "read-timeout", iamclient.DefaultReadTimeout, "longest the endpoint may stay silent while an answer is due, headers or body (as the AWS CLI's --cli-read-timeout)")
	f.DurationVar(&o.CallTimeout, "call-timeout", iamclient.DefaultCallTimeout, "longest one AWS call may take, all its retries and backoff included")
}

// check refuses a timeout that is not positive, naming where it was set,
// before any AWS call. (A value that is not a duration at all was refused
// when the flag was set, from whichever layer.)
func (o awsOptions) check(s settings) error {
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"connect-timeout", o.ConnectTimeout}, {"read-timeout", o.ReadTimeout}, {"call-timeout", o.CallTimeout}} {
		if err := checkPositive(s, t.name, t.d); err != nil {
			return err
		}
	}
	return nil
}

// load layers the command's settings into its flags (and so into o), then
// checks the timeouts: what every command that calls AWS does before it
// runs.
func (o *awsOptions) load(cmd *cobra.Command) error {
	s, err := loadSettings(cmd)
	if err != nil {
		return err
	}
	return o.check(s)
}

// client returns the IAM client's options; debug receives the --debug log.
func (o awsOptions) client(debug io.Writer) iamclient.Options {
	c := iamclient.Options{
		Profile: o.Profile, Region: o.Region, EndpointURL: o.EndpointURL, CABundle: o.CABundle, MaxBackoff: o.MaxBackoff,
		ConnectTimeout: o.ConnectTimeout, ReadTimeout: o.ReadTimeout, CallTimeout: o.CallTimeout,
	}
	if o.Debug {
		c.Debug = debug
	}
	return c
}

// paceFlags say how fast a command that makes IAM calls in bulk may make
// them: the run's pacer (internal/aws/pace) finds the account's rate by
// itself, under these bounds.
type paceFlags struct {
	// Parallelism is the most IAM calls in flight at once: the ceiling of
	// the pacer's adaptive limit.
	Parallelism int
	// MaxRate caps the IAM calls started a second; 0 is no cap.
	MaxRate float64
}

// addMaxRateFlag adds --max-rate.
func addMaxRateFlag(cmd *cobra.Command, rate *float64) {
	cmd.Flags().Float64Var(rate, "max-rate", 0, "at most `N` IAM calls a second, to leave headroom in the account's shared limit for the console and other jobs (0: no cap; the pacer finds the limit)")
	markNotNegative(cmd, "max-rate", "the most IAM calls a second, or 0 for no cap")
}

// paced sets the client's pacer from the flags.
func (p paceFlags) paced(o iamclient.Options) iamclient.Options {
	o.Parallelism, o.MaxRate = p.Parallelism, p.MaxRate
	return o
}

// planFlags are the options that shape a plan, shared by plan and apply.
type planFlags struct {
	Files   []string
	Prune   bool
	Targets []string
	Replace []string
	// AllowDeactivate lets --replace and --prune deactivate a device a
	// user has (a lost phone, a leaver); command line only.
	AllowDeactivate bool
	paceFlags
	// Quiet prints nothing on stdout when the account matches, for
	// scheduled jobs whose output is mailed.
	Quiet bool
	// Role is the role template of accounts whose manifests name no
	// role: (literal text and {{.Account}}, nothing else).
	Role string
	// PlanRole is plan's --plan-role: the role template plan reads each
	// account through in place of Role's, which a saved plan still
	// records for apply. Only plan sets it (apply refuses the flag).
	PlanRole string
	// readRoles are PlanRole's expansions by account (planReadRoles),
	// the roles plan connects through; nil unless PlanRole is set.
	readRoles map[string]manifest.Role
	// AccountsParallelism bounds the accounts worked on at once.
	AccountsParallelism int
	// Store are the S3 store's options.
	Store storeFlags
}

// addManifestFlag adds -f/--file to commands that read a manifest.
func addManifestFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "file", "f", nil, "manifest `file` or folder of *.yaml manifests; repeatable (or MFABULK_FILE, or file: in the config)")
}

// addPlanFlags adds the options that shape a plan.
func addPlanFlags(cmd *cobra.Command, o *planFlags) {
	addManifestFlag(cmd, &o.Files)
	f := cmd.Flags()
	f.BoolVar(&o.Prune, "prune", false, "delete devices inside the manifest's scope.paths that it does not list")
	f.StringArrayVar(&o.Targets, "target", nil, "limit the plan to the device `name`, or ACCOUNT/NAME (repeatable)")
	f.StringArrayVar(&o.Replace, "replace", nil, "recreate the device `name` (or ACCOUNT/NAME) with a new secret; its old outfile is kept, renamed (repeatable)")
	f.BoolVar(&o.AllowDeactivate, "allow-deactivate", false, "let --replace and --prune deactivate a device enabled for a user, then delete it (a lost phone, a leaver; the plan says who loses MFA; command line only)")
	f.IntVar(&o.Parallelism, "parallelism", iamclient.DefaultParallelism, "most AWS calls in flight at once, per account: the ceiling of the adaptive limit, which backs off when IAM throttles")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing on standard output when nothing changes (for cron)")
	f.StringVar(&o.Role, "role", "", "role `template` to assume in each account whose manifests name no role:, e.g. arn:aws:iam::{{.Account}}:role/mfabulk")
	f.IntVar(&o.AccountsParallelism, "accounts-parallelism", 4, "accounts worked on at once, each with its own AWS calls in flight (--parallelism)")
	markAtLeastOne(cmd, "parallelism", "the most AWS calls in flight at once")
	markAtLeastOne(cmd, "accounts-parallelism", "the number of accounts worked on at once")
	addMaxRateFlag(cmd, &o.MaxRate)
	addStoreFlags(cmd, &o.Store)
}

// planOptions are the plan options the flags ask for.
func (o planFlags) planOptions() plan.Options {
	return plan.Options{Prune: o.Prune, Targets: o.Targets, Replace: o.Replace, AllowDeactivate: o.AllowDeactivate}
}

// debugOut is where the --debug lines of a view go: standard error, or
// nowhere without --debug.
func (o awsOptions) debugOut(streams IO) io.Writer {
	if o.Debug {
		return streams.Err
	}
	return nil
}

// pacing returns the progress line's view of the pacer of the client
// that *c points to, once it does (nothing before).
func pacing(c *atomic.Pointer[iamclient.Client]) func() view.Pacing {
	return func() view.Pacing {
		client := c.Load()
		if client == nil {
			return view.Pacing{}
		}
		s := client.Pace()
		return view.Pacing{Throttled: s.Throttled, Failed: s.Failed, Rate: s.Achieved, InFlight: s.InFlight, Limit: s.Limit, Paced: s.Rate}
	}
}

// viewStreams are what a view needs of the command's streams.
func viewStreams(streams IO) view.Streams {
	return view.Streams{Out: streams.Out, Err: streams.Err, OutTTY: streams.OutTTY, Style: styleFor(streams), ToolVersion: version}
}
