#!/usr/bin/env bash
# image-test.sh (`npm run image:test`): builds the container image from the Dockerfile, as
# `docker build` would, and runs it against local test-bed clusters. From scratch on a fresh
# machine, as root:
#   1. scripts/image-base.sh: installs buildah and mmdebstrap if missing, and assembles (or reuses
#      from its cache) the Dockerfile's base image as localhost/<base tag>;
#   2. `buildah bud --build-arg NODE_IMAGE=<that image>`: the Dockerfile itself, all three stages;
#   3. prints the image's size, uncompressed and as a registry stores it (gzip layers);
#   4. test/image/image.ts: runs the image with its own ENTRYPOINT and USER against a control plane
#      and a full data plane (the Release reaches Ready, probes and metrics answer, SIGTERM exits 0)
#      and prints the time from container start to Ready;
#   5. removes the image it built (KEEP_IMAGE=1 keeps it as localhost/release-controller:image-test).
# Needs root, Debian's mirror and the npm registry; the Kubernetes binaries come from
# testbed/build.sh as for `npm test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() {
  printf 'image-test: %s\n' "$*" >&2
  exit 1
}
[[ $(id -u) == 0 ]] || fail "run as root: buildah's image store and mmdebstrap's root mode need it"

start=$SECONDS
base=$(scripts/image-base.sh | tail -n 1)
echo "image-test: base image $base ready in $((SECONDS - start))s"

if [[ -n "${KEEP_IMAGE:-}" ]]; then
  tag=localhost/release-controller:image-test
else
  tag=localhost/release-controller:image-test-$$
fi
# A kept image of an earlier run would be left untagged by this one's.
[[ -z "${KEEP_IMAGE:-}" ]] || buildah rmi "$tag" >/dev/null 2>&1 || true
tmp=$(mktemp -d)
cleanup() {
  rm -rf "$tmp"
  [[ -n "${KEEP_IMAGE:-}" ]] || buildah rmi "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A machine whose TLS traffic goes through an inspecting proxy trusts that proxy's CA through npm's
# cafile (or NODE_EXTRA_CA_CERTS). The build's `npm ci` gets the same file through mounts that exist
# only while a RUN step runs, so the image never holds it and the Dockerfile stays as it is.
mounts=()
ca=$(npm config get cafile 2>/dev/null || true)
[[ -n "$ca" && "$ca" != null && "$ca" != undefined ]] || ca=${NODE_EXTRA_CA_CERTS:-}
if [[ -n "$ca" && -f "$ca" ]]; then
  printf 'cafile=/run/build-ca.crt\n' >"$tmp/npmrc"
  mounts=(--volume "$ca:/run/build-ca.crt:ro" --volume "$tmp/npmrc:/usr/local/etc/npmrc:ro")
  echo "image-test: the build's npm trusts this machine's CA file $ca (mounted during RUN steps only)"
fi

build_start=$SECONDS
buildah bud --isolation chroot --pull=never --build-arg "NODE_IMAGE=$base" "${mounts[@]}" \
  --tag "$tag" . >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  fail "buildah bud failed (its output is above)"
}
echo "image-test: built $tag in $((SECONDS - build_start))s"

# The size a registry stores and a node pulls: the gzip-compressed layers of the pushed manifest.
buildah push --quiet "$tag" "oci:$tmp/oci" >/dev/null
node --input-type=commonjs -e '
const fs = require("node:fs");
const dir = process.argv[1];
const blob = (d) => JSON.parse(fs.readFileSync(`${dir}/blobs/${d.replace(":", "/")}`, "utf8"));
const manifest = blob(JSON.parse(fs.readFileSync(`${dir}/index.json`, "utf8")).manifests[0].digest);
const mb = (n) => (n / 1e6).toFixed(1) + " MB";
const layers = manifest.layers.map((l) => l.size);
const total = layers.reduce((a, b) => a + b, 0);
console.log(`image-test: compressed size ${mb(total)} (layers ${layers.map(mb).join(" + ")}, the last one ours)`);
' "$tmp/oci"
echo "image-test: uncompressed size $(buildah images --noheading --format '{{.Size}}' "$tag") (as \`docker images\` shows it)"

RC_IMAGE=$tag node --import tsx --test-reporter=spec test/image/image.ts
echo "image-test: passed in $((SECONDS - start))s"
