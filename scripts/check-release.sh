#!/usr/bin/env bash
# Checks `make release` (run it with `make release-check`; not part of
# `make test`, it builds six binaries): every platform's binary is there,
# static, built with -trimpath and CGO_ENABLED=0, stamped with the version,
# of the right executable format for its system (ELF, Mach-O, PE32+ .exe,
# when `file` is installed), and SHA256SUMS verifies. CHECK_RELEASE_BUILT=1 checks the dist/ of an
# earlier run instead of building again.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v0.0.0-releasecheck
[ "${CHECK_RELEASE_BUILT:-}" = 1 ] || make release VERSION="$version"

fail() { echo "check-release: $*" >&2; exit 1; }
for p in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64; do
  bin="dist/mfabulk_${version}_$p"
  case $p in
  linux_amd64) format='ELF 64-bit LSB executable, x86-64' ;;
  linux_arm64) format='ELF 64-bit LSB executable, ARM aarch64' ;;
  darwin_amd64) format='Mach-O 64-bit x86_64 executable' ;;
  darwin_arm64) format='Mach-O 64-bit arm64 executable' ;;
  windows_amd64) bin=$bin.exe format='PE32\+ executable.*x86-64' ;;
  windows_arm64) bin=$bin.exe format='PE32\+ executable.*Aarch64' ;;
  esac
  [ -s "$bin" ] || fail "$bin missing"
  if command -v file >/dev/null; then
    file -b "$bin" | grep -Eq "$format" || fail "$bin is not a $format: $(file -b "$bin")"
  fi
  info=$(go version -m "$bin")
  grep -q $'\tbuild\t-trimpath=true' <<<"$info" || fail "$bin not built with -trimpath"
  grep -q $'\tbuild\tCGO_ENABLED=0' <<<"$info" || fail "$bin not built with CGO_ENABLED=0"
  # -trimpath leaves -ldflags out of the build info: look for the string.
  grep -qa -- "$version" "$bin" || fail "$bin not stamped with $version"
  grep -q " ${bin#dist/}$" dist/SHA256SUMS || fail "$bin not in SHA256SUMS"
done
(cd dist && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not verify"
if [ "$(go env GOOS)_$(go env GOARCH)" = linux_amd64 ]; then
  bin="dist/mfabulk_${version}_linux_amd64"
  file "$bin" 2>/dev/null | grep -q 'statically linked' || ! command -v file >/dev/null || fail "$bin is not static"
  "$bin" version | grep -q "^mfabulk $version " || fail "$bin version does not say $version"
fi
echo "check-release: ok"
ls -l dist
