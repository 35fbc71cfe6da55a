package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/view"
)

// whoamiOpts are whoami's options.
type whoamiOpts struct {
	IO     IO
	AWS    awsOptions
	Output string
}

func newWhoamiCmd(streams IO, runF func(context.Context, *whoamiOpts) error) *cobra.Command {
	opts := &whoamiOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Print the AWS account, identity, region and credential source mfabulk would use",
		Long: `whoami asks STS who the credentials belong to (GetCallerIdentity, which needs
no permission) and prints the account, the ARN, the region, the endpoint
if one is given, and where the credentials came from: the environment, a
shared config profile, SSO, the instance metadata service… It changes
nothing. With --output json it prints the same as one JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return whoamiRun(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `format`: text or json")
	return cmd
}

func whoamiRun(ctx context.Context, opts *whoamiOpts) error {
	if opts.Output != "text" && opts.Output != "json" {
		return withHint(fmt.Errorf("unknown output format %q", opts.Output), "use --output text or json")
	}
	client, err := iamclient.New(ctx, opts.AWS.client(opts.IO.Err))
	if err != nil {
		return err
	}
	id, err := client.Identity(ctx)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Account          string `json:"account"`
			ARN              string `json:"arn"`
			UserID           string `json:"user_id"`
			Region           string `json:"region"`
			Endpoint         string `json:"endpoint,omitempty"`
			CredentialSource string `json:"credential_source"`
		}{id.Account, id.ARN, id.UserID, id.Region, id.Endpoint, id.CredentialSource})
	}
	return whoamiText(opts.IO.Out, id.Account, id.ARN, id.Region, id.Endpoint, id.CredentialSource)
}

// whoamiText prints the identity as a table. Every field is an AWS answer
// or a setting (an endpoint from a config file a checkout can carry), so
// each is escaped as every outside value: a CR in an ARN redrew the line.
func whoamiText(w io.Writer, account, arn, region, endpoint, source string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Account:\t%s\n", view.Text(account))
	fmt.Fprintf(tw, "ARN:\t%s\n", view.Text(arn))
	fmt.Fprintf(tw, "Region:\t%s\n", view.Text(region))
	if endpoint != "" {
		fmt.Fprintf(tw, "Endpoint:\t%s\n", view.Text(endpoint))
	}
	fmt.Fprintf(tw, "Credentials:\t%s\n", view.Text(source))
	return tw.Flush()
}
