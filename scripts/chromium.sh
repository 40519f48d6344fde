#!/usr/bin/env bash
# chromium.sh: prints the path of a headless-capable Chromium, installing Debian's `chromium`
# package first when none is there (as scripts/image-base.sh installs buildah). The UI test
# (test/plugin/ui.test.ts) and `npm run bench -- --ui` call it; CHROMIUM=PATH picks another build.
# Installing needs root and Debian's mirror; without them it fails with what to do.
set -euo pipefail

fail() {
  printf 'chromium.sh: %s\n' "$*" >&2
  exit 1
}
find_chromium() {
  local candidate
  for candidate in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if path=$(find_chromium); then
  printf '%s\n' "$path"
  exit 0
fi
[[ -z "${CHROMIUM:-}" ]] || fail "CHROMIUM=$CHROMIUM is not an executable"
command -v apt-get >/dev/null 2>&1 ||
  fail "no chromium on PATH and no apt-get to install it: install Chromium and set CHROMIUM=/path/to/chromium"
[[ $(id -u) == 0 ]] ||
  fail "no chromium on PATH: run as root so that this script can apt-get install chromium, or install it yourself (sudo apt-get install chromium)"
echo "chromium.sh: installing Debian's chromium package (once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || fail "apt-get update failed (is Debian's mirror reachable?)"
apt-get install -y -qq --no-install-recommends chromium >&2 || fail "apt-get install chromium failed"
path=$(find_chromium) || fail "apt-get installed chromium, but it is not on PATH"
printf '%s\n' "$path"
