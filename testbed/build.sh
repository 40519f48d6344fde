#!/usr/bin/env bash
# build.sh: builds (or reuses) the Kubernetes binaries of the local test bed and prints the
# folder that holds them as its last line of output.
#
#   testbed/build.sh            build once, then reuse the cached folder
#   KUBEBUILDER_ASSETS=DIR ...  use prebuilt binaries in DIR instead (envtest convention; no Go)
#
# It also builds helm (testbed/helm, its own Go module) into the same folder, for the chart tests.
# With KUBEBUILDER_ASSETS nothing is built: testbed/helm.ts then takes DIR/helm, else helm on PATH.
#
# The cache lives outside the repository, in
#   ${TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-testbed}/<key>/bin
# where <key> names the Kubernetes, etcd and kwok versions, the Go version and the go.sum hashes,
# so a change to any of them builds a new folder. Builds are serialised with flock and land with
# an atomic rename, so a second and a concurrent run reuse the first one's binaries.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k8s_version=v1.36.3
kwok_version=v0.8.0
required=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok helm)

fail() {
  printf 'testbed: %s\n' "$*" >&2
  exit 1
}

# `testbed/build.sh konnectivity` builds (or reuses) apiserver-network-proxy's proxy-server and
# proxy-agent (testbed/konnectivity, its own Go module) into a folder of their own, keyed the same
# way, and prints it; KONNECTIVITY_ASSETS=DIR uses prebuilt ones instead. They are apart from the
# Kubernetes set so that pinning another proxy version never rebuilds Kubernetes.
if [[ "${1:-}" == konnectivity ]]; then
  if [[ -n "${KONNECTIVITY_ASSETS:-}" ]]; then
    for b in proxy-server proxy-agent; do
      [[ -x "$KONNECTIVITY_ASSETS/$b" ]] || fail "KONNECTIVITY_ASSETS=$KONNECTIVITY_ASSETS has no executable '$b'"
    done
    echo "$KONNECTIVITY_ASSETS"
    exit 0
  fi
  command -v go >/dev/null 2>&1 || fail "Go is not installed. Install Go 1.26 (https://go.dev/dl/) to build
apiserver-network-proxy, or set KONNECTIVITY_ASSETS to a folder with proxy-server and proxy-agent."
  command -v flock >/dev/null 2>&1 || fail "flock (util-linux) is required to serialise builds"
  export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -modcacherw -buildvcs=false" CGO_ENABLED=0
  anp_version=$(cd "$here/konnectivity" && go list -m -f '{{.Version}}' sigs.k8s.io/apiserver-network-proxy)
  key="konnectivity-${anp_version}_$(go env GOVERSION)_$(sha256sum <"$here/konnectivity/go.sum" | cut -c1-12)"
  root="${TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-testbed}"
  dest="$root/$key"
  mkdir -p "$root"
  [[ -f "$dest/bin/.complete" ]] && { echo "$dest/bin"; exit 0; }
  exec 9>"$root/.lock"
  echo "testbed: waiting for the build lock $root/.lock" >&2
  flock 9
  [[ -f "$dest/bin/.complete" ]] && { echo "$dest/bin"; exit 0; }
  tmp="$root/$key.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  trap 'rm -rf "$tmp"' EXIT
  echo "testbed: building apiserver-network-proxy $anp_version into $dest (a few minutes)" >&2
  cd "$here/konnectivity"
  go mod download >&2 || fail "downloading the apiserver-network-proxy modules failed (output above)"
  for cmd in server agent; do
    go build -trimpath -ldflags "-s -w" -o "$tmp/bin/proxy-$cmd" \
      "sigs.k8s.io/apiserver-network-proxy/cmd/$cmd" >&2 || fail "building proxy-$cmd failed (output above)"
  done
  chmod -R u+w "$tmp"
  touch "$tmp/bin/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  echo "$dest/bin"
  exit 0
fi

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  # envtest bundles carry only etcd, kube-apiserver and kubectl; full mode needs the rest.
  for b in etcd kube-apiserver kubectl; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || fail "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$b'"
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "Go is not installed. Install Go 1.26 (https://go.dev/dl/) to build the
Kubernetes binaries, or set KUBEBUILDER_ASSETS to a folder of prebuilt binaries
(etcd, kube-apiserver, kubectl; add kube-controller-manager, kube-scheduler and kwok for full mode)."
command -v flock >/dev/null 2>&1 || fail "flock (util-linux) is required to serialise builds"

export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -modcacherw -buildvcs=false" CGO_ENABLED=0
go_version=$(go env GOVERSION)
sum_hash=$(cat "$here/go.sum" "$here/kwok/go.sum" "$here/helm/go.sum" | sha256sum | cut -c1-12)
etcd_version=$(cd "$here" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
key="k8s-${k8s_version}_etcd-${etcd_version}_kwok-${kwok_version}_${go_version}_${sum_hash}"
root="${TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/release-controller-testbed}"
dest="$root/$key"
mkdir -p "$root"

if [[ -f "$dest/bin/.complete" ]]; then
  echo "$dest/bin"
  exit 0
fi

exec 9>"$root/.lock"
echo "testbed: waiting for the build lock $root/.lock" >&2
flock 9
if [[ -f "$dest/bin/.complete" ]]; then
  echo "$dest/bin"
  exit 0
fi

tmp="$root/$key.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "testbed: building Kubernetes $k8s_version, etcd $etcd_version and kwok $kwok_version with $go_version into $dest (the first build takes 15-40 minutes)" >&2

ver="k8s.io/component-base/version"
minor=${k8s_version#v1.}
minor=${minor%%.*}
ldflags="-s -w -X $ver.gitVersion=$k8s_version -X $ver.gitMajor=1 -X $ver.gitMinor=$minor -X $ver.gitTreeState=clean"
step() {
  local name=$1
  shift
  echo "testbed: step '$name'" >&2
  "$@" >&2 || fail "step '$name' failed (command: $*). If a module is missing from the Go module proxy, the
output above names it; try another pinned release in testbed/go.mod, or set KUBEBUILDER_ASSETS."
}

cd "$here"
step "download Kubernetes modules" go mod download
step "build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl" \
  go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
step "build etcd" go build -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3

cd "$here/kwok"
step "download kwok modules" go mod download
step "build kwok" go build -trimpath -ldflags "-s -w" \
  -o "$tmp/bin/kwok" sigs.k8s.io/kwok/cmd/kwok
# kwok exits with "no stages found" without stage files; these are the five kwokctl itself uses.
stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@${kwok_version}/kustomize/stage"
mkdir -p "$tmp/bin/kwok-stages"
cp "$stages/node/fast/node-initialize.yaml" \
  "$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
  "$stages/pod/fast/pod-ready.yaml" "$stages/pod/fast/pod-complete.yaml" "$stages/pod/fast/pod-delete.yaml" \
  "$tmp/bin/kwok-stages/" || fail "kwok stage files not found under $stages"

cd "$here/helm"
helm_version=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
client_go_minor=${client_go#v0.}
client_go_minor=${client_go_minor%%.*}
# As helm's Makefile: its version, and the Kubernetes version `helm template`/`lint` assume by default.
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version \
-X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in lint/rules chartutil; do
  helm_ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$client_go_minor"
done
step "download helm modules" go mod download
step "build helm" go build -trimpath -ldflags "$helm_ldflags" -o "$tmp/bin/helm" helm.sh/helm/v3/cmd/helm
chmod -R u+w "$tmp"

for b in "${required[@]}"; do
  [[ -x "$tmp/bin/$b" ]] || fail "the build produced no '$b'"
done
"$tmp/bin/kube-apiserver" --version >&2
"$tmp/bin/etcd" --version | head -1 >&2
"$tmp/bin/helm" version --short >&2
touch "$tmp/bin/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "testbed: built in $((SECONDS - start))s" >&2
echo "$dest/bin"
