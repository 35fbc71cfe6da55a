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
// error, something that is not IAM's XML. It names the URL and status.
type NotIAMError struct {
	URL         string
	Status      int
	ContentType string
}

func (e *NotIAMError) Error() string {
	what := "an answer that is not AWS's XML"
	if mt, _, err := mime.ParseMediaType(e.ContentType); err == nil && mt != "" {
		what = "a " + mt + " answer"
	}
	return fmt.Sprintf("the endpoint %s does not speak IAM: it answered HTTP %d %s with %s", e.URL, e.Status, http.StatusText(e.Status), what)
}

// notIAM recognises an answer the SDK could not read as IAM's.
func notIAM(err error) error {
	var de *smithy.DeserializationError
	var re *awshttp.ResponseError
	if !errors.As(err, &de) || !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return nil
	}
	r := re.Response.Response
	url := ""
	if r.Request != nil && r.Request.URL != nil {
		u := *r.Request.URL
		u.RawQuery, u.User = "", nil
		url = u.String()
	}
	return &NotIAMError{URL: url, Status: r.StatusCode, ContentType: r.Header.Get("Content-Type")}
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
