package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/view"
)

// showPlanOpts are show-plan's options.
type showPlanOpts struct {
	IO     IO
	Output string
	File   string
}

func newShowPlanCmd(streams IO, runF func(context.Context, *showPlanOpts) error) *cobra.Command {
	opts := &showPlanOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "show-plan SAVED-PLAN",
		Short: "Show a plan saved with plan --out, without calling AWS",
		Long: `show-plan prints a plan saved with "plan --out FILE" in any format: text,
json (the plan document it embeds, as "plan -o json" printed it) or
markdown (for a pull-request comment). It reads only the file: the
account and the manifests are not consulted, so it shows the plan as it
was made, outfile paths relative to the folder it was made in. Standard
error names the manifests the plan is for, and the apply command that
applies it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadSettings(cmd); err != nil {
				return err
			}
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showPlanRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `format`: text, json or markdown")
	return cmd
}

// showPlanRun renders the saved document. JSON is the document itself;
// text and Markdown go through the plan views, from the plan value the
// document describes (jsonplan.ToPlan), so that a saved plan reads exactly
// as the plan command printed it, with one renderer per format.
func showPlanRun(opts *showPlanOpts) error {
	v, err := view.NewPlan(opts.Output, viewStreams(opts.IO))
	if err != nil {
		return withHint(err, "use --output text, json or markdown")
	}
	f, err := planfile.Read(opts.File)
	if err != nil {
		return err
	}
	// Which manifests apply must be given (-f) for this plan, the role it
	// assumes and its options: a reviewer reads them here, not in the
	// JSON, and apply must be given each.
	fmt.Fprintf(opts.IO.Err, "Saved plan of manifests %s", quotedList(f.Manifests))
	if f.RoleTemplate != "" {
		fmt.Fprintf(opts.IO.Err, ", through role template %s", view.Text(f.RoleTemplate))
	}
	if o := optionFlags(f.Options); o != "" {
		fmt.Fprintf(opts.IO.Err, ", with %s", o)
	}
	fmt.Fprintf(opts.IO.Err, "; apply it with: %s\n", applyCommand(opts.File, f))
	if opts.Output == "json" {
		var doc any = f.Plan
		if f.Accounts != nil {
			doc = f.Accounts
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	}
	if f.Accounts != nil {
		var as []view.AccountPlan
		for _, a := range f.Accounts.Accounts {
			x := view.AccountPlan{Account: a.Account, Role: a.Role, Skipped: a.Plan == nil}
			if a.Plan != nil {
				p := jsonplan.ToPlan(*a.Plan)
				x.Plan = &p
			}
			as = append(as, x)
		}
		return v.Plans(as)
	}
	return v.Plan(jsonplan.ToPlan(f.Plan))
}
