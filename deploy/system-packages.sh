#!/usr/bin/env bash
# Install the Debian packages tagged WHERE in deploy/system-packages.txt, once.
# Installs with apt-get when this is root or has passwordless sudo; otherwise stops with
# the exact command to run. Usage: deploy/system-packages.sh WHERE   (image | run | test | bench | install)
set -euo pipefail
where=${1:?usage: system-packages.sh image|run|test|bench|install}
list="$(dirname "$0")/system-packages.txt"
mapfile -t wanted < <(sed 's/#.*//' "$list" | awk -v w="$where" '{for (i = 2; i <= NF; i++) if ($i == w) print $1}')
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Docent needs these Debian packages, and this machine has no apt-get: ${missing[*]}" >&2
  echo "Install their equivalents with your system's package manager, then run make again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "Docent needs these Debian packages for 'make $where': ${missing[*]}" >&2
  echo "Install them once, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages for 'make $where' (once): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
