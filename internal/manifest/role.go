package manifest

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
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

// Account is the account the role's ARN names.
func (r Role) Account() string {
	if m := roleARNRE.FindStringSubmatch(r.ARN); m != nil {
		return m[1]
	}
	return ""
}

var (
	// roleARNRE is an IAM role ARN, its account captured.
	roleARNRE       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	externalIDRE    = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	sessionNameRE   = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleFields      = []string{"arn", "externalId", "sessionName", "duration"}
	minRoleDuration = 15 * time.Minute
	maxRoleDuration = 12 * time.Hour
)

// RoleTemplate is a role ARN with {{.Account}} where the account goes,
// such as "arn:aws:iam::{{.Account}}:role/mfabulk": the role of every
// account whose manifests name none.
type RoleTemplate struct{ t *template.Template }

// ParseRoleTemplate checks a role template: text/template syntax, no
// field but .Account, and an IAM role ARN once the account is put in.
func ParseRoleTemplate(text string) (RoleTemplate, error) {
	if len(text) > 2048 {
		return RoleTemplate{}, fmt.Errorf("role template is longer than 2048 characters")
	}
	t, err := template.New("role").Option("missingkey=error").Parse(text)
	if err != nil {
		return RoleTemplate{}, fmt.Errorf("parsing role template %s: %w", quote(text), err)
	}
	rt := RoleTemplate{t}
	const probe = "000000000000"
	arn, err := rt.Expand(probe)
	if err != nil {
		return RoleTemplate{}, err
	}
	if m := roleARNRE.FindStringSubmatch(arn); m == nil || m[1] != probe {
		return RoleTemplate{}, fmt.Errorf("role template %s does not make a role ARN with {{.Account}} as its account (arn:aws:iam::{{.Account}}:role/NAME)", quote(text))
	}
	return rt, nil
}

// IsZero says whether no template was given.
func (rt RoleTemplate) IsZero() bool { return rt.t == nil }

// Expand is the template's role ARN for account.
func (rt RoleTemplate) Expand(account string) (string, error) {
	var b strings.Builder
	if err := rt.t.Execute(&b, struct{ Account string }{account}); err != nil {
		return "", fmt.Errorf("expanding role template: %w (only {{.Account}} is defined)", err)
	}
	return b.String(), nil
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
	if !roleARNRE.MatchString(s) {
		c.at(arnNode.Line, arnNode.Column, "role", "role %s is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", quote(s))
		return nil
	}
	r.ARN = s
	return r
}
