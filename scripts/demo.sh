#!/usr/bin/env bash
# The quick-start demo: start the local IAM endpoint, make a throwaway age
# identity, then validate → plan → apply the example manifest, decrypt one
# outfile with `mfabulk show` and one with the reference `age` CLI, let bob
# enroll his own device with `mfabulk enroll` (the others are enabled for
# their users by apply), and plan again to see "No changes". Run it with
# `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
demo=$PWD/demo
rm -rf "$demo" && mkdir -p "$demo"

# Its IAM users are the cohort's; apply enables their devices for them.
"$bin/iamlocal" -url-file "$demo/url" -users alice,bob,carol,dave.smith@example.com >/dev/null &
iamlocal=$!
trap 'kill $iamlocal 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$demo/url" ] && break; sleep 0.1; done

# iamlocal accepts any credentials; the AWS SDK just needs some to sign with.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export MFABULK_ENDPOINT_URL=$(cat "$demo/url")
unset AWS_PROFILE

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

"$bin/age-keygen" -o "$demo/identity.txt" 2>/dev/null
{ echo "# the demo's throwaway identity"; "$bin/age-keygen" -y "$demo/identity.txt"; } >"$demo/recipients.txt"
cp examples/manifests/cohort-2026-q4.yaml "$demo/manifest.yaml"
cd "$demo"
echo "iamlocal is listening on $MFABULK_ENDPOINT_URL"

step mfabulk validate -f manifest.yaml
"$bin/mfabulk" validate -f manifest.yaml
step mfabulk plan -f manifest.yaml
"$bin/mfabulk" plan -f manifest.yaml
step mfabulk apply -f manifest.yaml --auto-approve
"$bin/mfabulk" apply -f manifest.yaml --auto-approve
step ls -l out
ls -l out
force=; [ -t 1 ] || force=--force   # show refuses to print secrets into a pipe
step mfabulk show -i identity.txt out/alice.png.age
"$bin/mfabulk" show $force -i identity.txt out/alice.png.age
step age -d -i identity.txt out/bob.txt.age
"$bin/age" -d -i identity.txt out/bob.txt.age; echo
# bob enrolls his own device: enroll decrypts his outfile, finds the
# device, asks for two codes from his authenticator app and checks them
# before enabling it for him. bin/phone plays the app here (it reads the
# seed from the pipe; a person scans the QR code or types the seed).
step mfabulk enroll -i identity.txt out/bob.txt.age --user bob
"$bin/age" -d -i identity.txt out/bob.txt.age | "$bin/phone" | "$bin/mfabulk" enroll --no-show -i identity.txt out/bob.txt.age --user bob
step mfabulk plan -f manifest.yaml --detailed-exitcode
"$bin/mfabulk" plan -f manifest.yaml --detailed-exitcode
echo
echo "Demo done: the outfiles are in demo/out, the identity that opens them is demo/identity.txt."
