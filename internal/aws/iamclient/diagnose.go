package iamclient

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// ErrNoCredentials is wrapped by the error of a call made with no AWS
// credentials anywhere the SDK looks for them.
var ErrNoCredentials = errors.New("no AWS credentials found")

// noCredentialsError says where credentials were looked for.
type noCredentialsError struct{}

func (noCredentialsError) Error() string {
	return "no AWS credentials found; looked for them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), " +
		"the profile --profile or AWS_PROFILE names (else \"default\") in the shared files ~/.aws/credentials and ~/.aws/config " +
		"(AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE) including its SSO, role and process settings, a web identity token " +
		"(AWS_WEB_IDENTITY_TOKEN_FILE), the container credentials endpoint, and the EC2 instance metadata service (IMDS)"
}

func (noCredentialsError) Unwrap() error { return ErrNoCredentials }

// noCredentials recognises the SDK's error when its credential chain came
// up empty: the chain's last link, the EC2 instance metadata service,
// failed too, so no earlier source was configured.
func noCredentials(err error) error {
	msg := err.Error()
	if (strings.Contains(msg, "get credentials:") || strings.Contains(msg, "failed to refresh cached credentials")) && (strings.Contains(msg, "EC2 IMDS") || strings.Contains(msg, "ec2imds")) {
		return noCredentialsError{}
	}
	return nil
}

// NotIAMError is an answer that is not AWS's: an HTML page, a proxy's
// error, something that is not IAM's XML. It names the URL and status,
// and the operation when it is not the first call: an endpoint that
// answered that one in IAM's terms speaks IAM, but does not implement
// this action (moto_server answers ListMFADeviceTags with an HTML "500
// Internal Server Error" page).
type NotIAMError struct {
	URL         string
	Status      int
	ContentType string
	// Service and Operation name the call ("iam", "ListMFADeviceTags");
	// Operation is "" when unknown.
	Service, Operation string
	Err                error // the SDK's error, for errors.As
}

func (e *NotIAMError) Error() string {
	what := "an answer that is not AWS's XML"
	mt, _, err := mime.ParseMediaType(e.ContentType)
	switch {
	case err == nil && mt == "text/html":
		what = "an HTML page"
	case err == nil && mt != "":
		what = "a " + mt + " answer"
	}
	if e.Operation == "" || e.Operation == "GetCallerIdentity" {
		if what == "an HTML page" {
			what = "a text/html answer"
		}
		return fmt.Sprintf("the endpoint %s does not speak IAM: it answered HTTP %d %s with %s", e.URL, e.Status, http.StatusText(e.Status), what)
	}
	return fmt.Sprintf("the endpoint %s does not implement %s:%s: it answered HTTP %d %s with %s, not IAM's XML", e.URL, e.Service, e.Operation, e.Status, http.StatusText(e.Status), what)
}

func (e *NotIAMError) Unwrap() error { return e.Err }

// notIAM recognises an answer the SDK could not read as IAM's: one it
// failed to deserialize, or an error answer that is an HTML page (whose
// deserializer fails with a plain XML syntax error).
func notIAM(err error) error {
	var de *smithy.DeserializationError
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return nil
	}
	if !errors.As(err, &de) && !htmlAnswer(err) {
		return nil
	}
	r := re.Response.Response
	url := ""
	if r.Request != nil && r.Request.URL != nil {
		u := *r.Request.URL
		u.RawQuery, u.User = "", nil
		url = u.String()
	}
	e := &NotIAMError{URL: url, Status: r.StatusCode, ContentType: r.Header.Get("Content-Type"), Err: err}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		e.Service, e.Operation = strings.ToLower(op.ServiceID), op.OperationName
	}
	return e
}

// htmlAnswer reports whether err is an answer with an HTML page and no
// AWS error code in it: IAM and STS answer in XML, even their own
// faults; an HTML page comes from something else on the way, or from an
// emulator that does not implement the action.
func htmlAnswer(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil || ErrorCode(err) != "" {
		return false
	}
	mt, _, perr := mime.ParseMediaType(re.Response.Header.Get("Content-Type"))
	return perr == nil && mt == "text/html"
}

// unimplemented reports whether err is an HTML page answered with HTTP
// 500 or 501 ([htmlAnswer]): an emulator's crash on an action it does not
// implement (moto_server's Flask error page), not a fault of the moment,
// so it is not retried (ten attempts with backoff took 108 s to fail).
// A gateway's 502, 503 or 504 page may be of the moment, and is retried.
func unimplemented(err error) bool {
	var re *awshttp.ResponseError
	if !htmlAnswer(err) || !errors.As(err, &re) {
		return false
	}
	s := re.HTTPStatusCode()
	return s == http.StatusInternalServerError || s == http.StatusNotImplemented
}

// sdkLogger is where the SDK's own log lines go: nowhere, unless --debug
// asks for a log, where they are marked as the SDK's.
func sdkLogger(debug io.Writer) logging.Logger {
	if debug == nil {
		return logging.Nop{}
	}
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		fmt.Fprintf(debug, "mfabulk: debug: aws sdk %s: %s\n", strings.ToLower(string(c)), fmt.Sprintf(format, v...))
	})
}
