#!/usr/bin/env bash
# Build the local Debian base images where no registry can be reached, and print the
# Python one's name: a `debootstrap --variant=minbase` bookworm imported into podman, then
# Debian's python3.11 on top (deploy/images/python.Containerfile). The Dockerfile takes it
# as PYTHON_IMAGE; the Chroma and nginx test images start from it too. A site with a
# registry uses python:3.11-slim-bookworm instead and never runs this.
#
# The debootstrap tree is kept as a tarball under the cache folder, so a second machine
# setup (or `podman system reset`) imports it again in seconds instead of ~2 minutes.
#
# Usage: deploy/base-image.sh [CACHE_DIR]     (needs root, podman, debootstrap)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${1:-${DOCENT_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docent/images}}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
minbase=localhost/docent-debian:bookworm-minbase
python=localhost/docent-python:3.11-bookworm
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}

if ! podman image exists "$minbase"; then
  tarball="$cache/debian-bookworm-minbase.tar.gz"
  if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    echo "Building a Debian bookworm base with debootstrap (once; about 2 minutes)..." >&2
    debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
    # Point releases and security updates too, as Debian's own images do.
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  fi
  podman import --quiet "$tarball" "$minbase" >/dev/null
fi

if ! podman image exists "$python"; then
  echo "Building $python (Debian's python3.11)..." >&2
  podman build --quiet --network host --build-arg "DEBIAN_IMAGE=$minbase" \
    -f deploy/images/python.Containerfile -t "$python" deploy/images >/dev/null
fi
echo "$python"
