package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// accountPlans is n accounts of devices changes each, the last one failed.
func accountPlans(n, devices int) []AccountPlan {
	var as []AccountPlan
	for i := range n {
		p := bigPlan(devices)
		p.Account = fmt.Sprintf("%012d", 100000000000+i)
		as = append(as, AccountPlan{Account: p.Account, Role: "arn:aws:iam::" + p.Account + ":role/mfabulk", Plan: &p})
	}
	as[n-1].Plan, as[n-1].Err = nil, errors.New("assuming role: AccessDenied")
	return as
}

// Markdown over several accounts stays within one GitHub comment however
// many accounts and changes there are, with a row per account and a
// total, each account's section within its share.
func TestPlansMarkdownFitsAComment(t *testing.T) {
	for _, c := range []struct{ accounts, devices int }{{3, 2}, {3, 5000}, {50, 100}, {2000, 1}} {
		var b bytes.Buffer
		as := accountPlans(c.accounts, c.devices)
		PlansMarkdown(&b, as)
		out := b.String()
		if len(out) > MaxMarkdown {
			t.Errorf("%d×%d: Markdown is %d bytes, want at most %d", c.accounts, c.devices, len(out), MaxMarkdown)
		}
		total := fmt.Sprintf("| **total** |  | %d |", (c.accounts-1)*c.devices)
		if c.accounts < 1000 && (!strings.Contains(out, total) || !strings.Contains(out, "| `"+as[1].Account+"` | changes | ") ||
			!strings.Contains(out, "| `"+as[c.accounts-1].Account+"` | failed | 0 |")) {
			t.Errorf("%d×%d: no row per account or total %q:\n%.2000s", c.accounts, c.devices, total, out)
		}
		if c.accounts >= 1000 && !strings.Contains(out, "**… table cut:**") {
			t.Errorf("%d accounts: the cut table does not say so", c.accounts)
		}
		if c.accounts == 3 && c.devices == 2 && strings.Count(out, "\n- **+ create** ") != 4 {
			t.Errorf("small plans are not shown whole:\n%s", out)
		}
	}
}

// The text plan has a section per account, the failed one with its error,
// and a total line.
func TestPlansText(t *testing.T) {
	var b bytes.Buffer
	PlansText(&b, accountPlans(3, 2), Style{})
	out := b.String()
	for _, want := range []string{
		"── account 100000000000 (role arn:aws:iam::100000000000:role/mfabulk) ──\nmfabulk will perform the following actions in account 100000000000:",
		"── account 100000000002 (role arn:aws:iam::100000000002:role/mfabulk) ──\nError: assuming role: AccessDenied\n",
		"\nTotal: 3 account(s) (1 failed): 4 to create, 0 to replace, 0 to update tags, 0 to delete; 0 unchanged, 0 in conflict, 0 refused.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// JSON over several accounts is format 2: totals and each account's
// format 1 document or error.
func TestJSONPlans(t *testing.T) {
	doc := JSONPlans(accountPlans(3, 2), "v0")
	data, _ := json.Marshal(doc)
	var back struct {
		FormatVersion string         `json:"format_version"`
		Failed        int            `json:"failed"`
		Summary       map[string]int `json:"summary"`
		Accounts      []struct {
			Account, Status, Error string
			Plan                   *struct {
				FormatVersion string `json:"format_version"`
				Account       string
			}
		}
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.FormatVersion != "2" || back.Failed != 1 || back.Summary[string(plan.Create)] != 4 || len(back.Accounts) != 3 {
		t.Fatalf("document: %s", data)
	}
	if a := back.Accounts[0]; a.Status != "changes" || a.Plan == nil || a.Plan.FormatVersion != "1" || a.Plan.Account != a.Account {
		t.Errorf("first account: %+v", a)
	}
	if a := back.Accounts[2]; a.Status != "failed" || a.Plan != nil || !strings.Contains(a.Error, "AccessDenied") {
		t.Errorf("failed account: %+v", a)
	}
}

// In a plan over many accounts, an account whose section does not fit its
// share is still named, in one line that says where its plan is; if even
// those lines do not fit, a last line counts the accounts left out.
func TestPlansMarkdownNamesEveryAccountWithChanges(t *testing.T) {
	for _, n := range []int{300, 900} {
		as := accountPlans(n, 3)
		var b bytes.Buffer
		PlansMarkdown(&b, as)
		out := b.String()
		if b.Len() > MaxMarkdown {
			t.Errorf("%d accounts: Markdown is %d bytes, want at most %d", n, b.Len(), MaxMarkdown)
		}
		named := 0
		for _, a := range as[:n-1] {
			if strings.Contains(out, "\n**Account `"+a.Account+"`:** ") || strings.Contains(out, "### mfabulk plan for account `"+a.Account+"`") {
				named++
			}
		}
		hidden := 0
		if m := regexp.MustCompile(`\*\*… and (\d+) more account\(s\) with changes not shown:\*\*`).FindStringSubmatch(out); m != nil {
			hidden, _ = strconv.Atoi(m[1])
		}
		if named+hidden != n-1 {
			t.Errorf("%d accounts: %d named and %d said not shown, want %d in all", n, named, hidden, n-1)
		}
	}
}
