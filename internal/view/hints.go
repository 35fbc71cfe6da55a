package view

import (
	"github.com/mfabulk/mfabulk/internal/plan"
)

// readPermissions are what plan needs, and so what every run needs first.
const readPermissions = "sts:GetCallerIdentity, iam:ListVirtualMFADevices and iam:ListMFADeviceTags"

// permission names the IAM permissions an action needs besides the reads.
var permission = map[plan.Action]string{
	plan.Create:     "iam:CreateVirtualMFADevice and iam:TagMFADevice",
	plan.Replace:    "iam:DeleteVirtualMFADevice, iam:CreateVirtualMFADevice and iam:TagMFADevice",
	plan.UpdateTags: "iam:TagMFADevice and iam:UntagMFADevice",
	plan.Delete:     "iam:DeleteVirtualMFADevice",
}

// CodeHint is the advice for an AWS error code, the one table of it that
// both a failed command and apply's summary print from. action narrows an
// access-denied hint to the permissions that action needs; "" means the
// command failed as a whole, so every permission mfabulk uses is named.
func CodeHint(code string, action plan.Action) string {
	switch code {
	case "AccessDenied", "AccessDeniedException":
		if p, ok := permission[action]; ok {
			return "access denied: the caller needs " + p
		}
		return "access denied: the caller needs " + readPermissions + " to plan, and iam:CreateVirtualMFADevice, iam:DeleteVirtualMFADevice, iam:TagMFADevice and iam:UntagMFADevice to apply"
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken":
		return "check the AWS credentials (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID)"
	case "Throttling":
		return "IAM throttled the calls even after retries: lower --parallelism, or run when the account is quieter"
	case "LimitExceeded":
		return "the account's virtual MFA device quota is reached: delete unused devices (plan --prune) or ask AWS to raise the quota"
	}
	return ""
}
