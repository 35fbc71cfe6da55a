package manifest

import (
	"fmt"
	"regexp"
	"time"

	yaml "go.yaml.in/yaml/v4"
)

// Role is the IAM role a run assumes, through STS, to reach an account
// (role:), so that one set of base credentials serves many accounts.
type Role struct {
	ARN         string        // arn:aws:iam::ACCOUNT:role/NAME
	ExternalID  string        // the trust policy's sts:ExternalId, if it asks for one
	SessionName string        // "" means the caller's default ("mfabulk")
	Duration    time.Duration // 0 means STS's default (one hour)
	Pos         Pos           // where it is declared; zero for a template's
}

// FromTemplate says whether the role is a role template's expansion
// (--role), not a manifest's own role: (which has a position): a run may
// stand another template in for the one, never for the other.
func (r Role) FromTemplate() bool { return r.Pos == (Pos{}) }

// Account is the account the role's ARN names.
func (r Role) Account() string {
	a, _ := roleARNAccount(r.ARN)
	return a
}

var (
	// roleARNRE is an IAM role ARN: its partition (one of AWS's, not a
	// made-up aws-anything that no endpoint serves), account, path and
	// name captured; path segments and the name are of IAM's role name
	// pattern, the name at most 64 characters.
	roleARNRE       = regexp.MustCompile(`^arn:(` + partitions + `):iam::([0-9]{12}):role(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)
	externalIDRE    = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	sessionNameRE   = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleFields      = []string{"arn", "externalId", "sessionName", "duration"}
	minRoleDuration = 15 * time.Minute
	maxRoleDuration = 12 * time.Hour
)

// partitions are AWS's partitions, for the ARNs a manifest may hold: a
// made-up aws-anything that no endpoint serves is refused.
const partitions = `aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[bef]|aws-eusc`

// maxRolePath is IAM's limit on a role's path.
const maxRolePath = 512

// roleARNAccount is the account of arn when arn is an IAM role ARN.
func roleARNAccount(arn string) (account string, ok bool) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil || len(m[3]) > maxRolePath {
		return "", false
	}
	return m[2], true
}

// maxRoleTemplateLen bounds a role template: a role ARN is at most 2048
// characters (IAM's limit on an ARN).
const maxRoleTemplateLen = 2048

// RoleTemplate is a role ARN with {{.Account}} where the account goes,
// such as "arn:aws:iam::{{.Account}}:role/mfabulk": the role of every
// account whose manifests name none. It is data, not a program (see
// [template]): {{.Account}} is all it may hold besides literal text, and
// every expansion is checked, not only a probe at parse time.
type RoleTemplate struct {
	t    *template
	text string
}

// ParseRoleTemplate checks a role template: literal text and
// {{.Account}}, nothing else, making an IAM role ARN in the account put
// in.
func ParseRoleTemplate(text string) (RoleTemplate, error) {
	if len(text) > maxRoleTemplateLen {
		return RoleTemplate{}, fmt.Errorf("role template is longer than %d characters", maxRoleTemplateLen)
	}
	t, err := parseTemplate(text, roleTemplateFields)
	if err != nil {
		return RoleTemplate{}, fmt.Errorf("parsing role template %q: %w", short(text), err)
	}
	rt := RoleTemplate{t, text}
	// Two probes catch, before any manifest is read, a template that
	// makes no role ARN, or one whose account is not {{.Account}} (a
	// literal account that happens to equal one probe); Expand checks
	// each real account again.
	for _, probe := range []string{"000000000000", "999999999999"} {
		if _, err := rt.Expand(probe); err != nil {
			return RoleTemplate{}, err
		}
	}
	return rt, nil
}

// IsZero says whether no template was given.
func (rt RoleTemplate) IsZero() bool { return rt.t == nil }

// Expand is the template's role ARN for account. It is an error unless
// the ARN is an IAM role ARN (one of AWS's partitions, valid path and name)
// whose account is account: what the template makes for one account it
// must make for every account, and a role in another account is never
// assumed.
func (rt RoleTemplate) Expand(account string) (string, error) {
	if rt.t == nil {
		return "", fmt.Errorf("expanding role template: no template")
	}
	arn, size, fits := rt.t.expand(maxRoleTemplateLen, account)
	if !fits {
		return "", fmt.Errorf("role template %q makes an ARN of %d characters for account %q; IAM allows at most %d", rt.text, size, account, maxRoleTemplateLen)
	}
	if a, ok := roleARNAccount(arn); !ok || a != account {
		return "", fmt.Errorf("role template %q does not make a role ARN with {{.Account}} as its account (arn:aws:iam::{{.Account}}:role/NAME): for account %q it makes %q", rt.text, account, arn)
	}
	return arn, nil
}

// readRole reads role: (an ARN, or a mapping with arn, externalId,
// sessionName and duration).
func (c *collector) readRole(n *yaml.Node) *Role {
	r := &Role{Pos: Pos{c.file, n.Line, n.Column}}
	arnNode := n
	if n.Kind == yaml.MappingNode {
		f := c.mapping(n, "role", roleFields...)
		if f == nil {
			return nil
		}
		arnNode = f["arn"]
		if arnNode == nil {
			c.at(n.Line, n.Column, "role", "role has no \"arn\"")
			return nil
		}
		if v := f["externalId"]; v != nil {
			if s, ok := c.scalar(v, "role.externalId"); ok {
				if len(s) < 2 || len(s) > 1224 || !externalIDRE.MatchString(s) {
					c.at(v.Line, v.Column, "role", "role.externalId must be 2 to 1224 letters, digits or + = , . @ : / _ -")
				}
				r.ExternalID = s
			}
		}
		if v := f["sessionName"]; v != nil {
			if s, ok := c.scalar(v, "role.sessionName"); ok {
				if !sessionNameRE.MatchString(s) {
					c.at(v.Line, v.Column, "role", "role.sessionName %s must be 2 to 64 letters, digits or + = , . @ _ -", quote(s))
				}
				r.SessionName = s
			}
		}
		if v := f["duration"]; v != nil {
			if s, ok := c.scalar(v, "role.duration"); ok {
				d, err := time.ParseDuration(s)
				switch {
				case err != nil:
					c.at(v.Line, v.Column, "role", "role.duration %s is not a duration such as 1h or 90m", quote(s))
				case d < minRoleDuration || d > maxRoleDuration:
					c.at(v.Line, v.Column, "role", "role.duration %s must be between 15m and 12h, as STS allows", quote(s))
				}
				r.Duration = d
			}
		}
	}
	s, ok := c.scalar(arnNode, "role.arn")
	if !ok {
		return nil
	}
	if _, ok := roleARNAccount(s); !ok {
		c.at(arnNode.Line, arnNode.Column, "role", "role %s is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", quote(s))
		return nil
	}
	r.ARN = s
	return r
}
