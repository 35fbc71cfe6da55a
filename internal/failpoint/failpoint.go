// Package failpoint lets the crash tests kill mfabulk at an exact step of
// its work (after the old outfile is moved aside, after the device is
// deleted, …) instead of at a random moment, so that every step of a
// multi-step change is proven resumable.
//
// A failpoint does nothing unless MFABULK_FAILPOINT names it; then the
// process sends itself SIGKILL there, as a power loss would stop it: no
// deferred function runs and no lock is released by mfabulk itself.
package failpoint

import "os"

// Names of the failpoints, in the order a replace or a prune reaches them.
const (
	ReplaceMovedAside  = "replace:moved-aside" // old outfile moved aside, old device not yet deleted
	ReplaceDeactivated = "replace:deactivated" // old device deactivated for its user, not yet deleted
	ReplaceDeleted     = "replace:deleted"     // old device deleted, new one not yet created
	Created            = "create:created"      // device created, outfile not yet written
	OutfileLinked      = "create:linked"       // outfile linked to its name, its temporary name not yet removed
	OutfileWritten     = "create:outfile"      // outfile durable, record and intent not yet settled
	PruneMovedAside    = "prune:moved-aside"   // pruned device's outfile moved aside, device not yet deleted
	PruneDeactivated   = "prune:deactivated"   // pruned device deactivated for its user, not yet deleted
	IntentRewritten    = "intent:rewritten"    // an earlier run's intent being taken over: its file changed, not yet synced
	AsideCopied        = "aside:copied"        // S3: an outfile copied to its aside key, the outfile not yet deleted
	ResealBegun        = "reseal:begun"        // a re-seal's intent durable, the outfile not yet replaced
	ResealReplaced     = "reseal:replaced"     // re-sealed outfile durable in place of the old, its record not yet written
)

// env names the failpoint to trigger; read once, at start.
var armed = os.Getenv("MFABULK_FAILPOINT")

// Hit kills the process if name is the armed failpoint.
func Hit(name string) {
	if armed != "" && armed == name {
		kill()
	}
}
