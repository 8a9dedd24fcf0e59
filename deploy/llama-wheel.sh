#!/usr/bin/env bash
# Build the portable llama-cpp-python wheel once and print its path.
#
# One build for every machine: GGML_NATIVE=OFF with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS
# compiles ggml's CPU kernels once per x86-64 level (x64, SSE4.2, AVX2, AVX-512, VNNI, AMX...)
# as separate libraries, and Docent loads the best one the running CPU supports
# (models/llama_runtime.py). A wheel built with -march=native belongs to the CPU it was
# built on and dies with SIGILL on the next server.
#
# The wheel is kept in a cache folder keyed by the version and these flags, so a second
# install (a fresh clone, CI, the Docker build context) does not compile again. pip's own
# wheel cache is keyed by the source only, not by CMAKE_ARGS, so it could hand back a
# native build made elsewhere: this script never lets pip build from its cache.
#
# Usage: deploy/llama-wheel.sh PIP [CACHE_DIR]   (PIP: the pip to build with)
set -euo pipefail
pip=${1:?usage: llama-wheel.sh PIP [CACHE_DIR]}
cache=${2:-${DOCENT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docent/wheels}}
version=0.3.36
# $ORIGIN: each CPU variant finds libggml-base.so beside itself wherever the wheel lands.
flags='-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF -DCMAKE_INSTALL_BINDIR=llama_cpp/lib -DCMAKE_INSTALL_RPATH=$ORIGIN'
key=$(printf '%s %s %s' "$version" "$flags" "$(uname -m)" | sha256sum | cut -c1-12)
dir="$cache/llama-cpp-python-$version-$key"
wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  mkdir -p "$dir/src"
  echo "Building llama-cpp-python $version for every x86-64 CPU level (once; about 30 min on 2 cores)..." >&2
  "$pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$dir/src" "llama-cpp-python==$version" >&2
  CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$pip" wheel --quiet --disable-pip-version-check --no-deps --no-cache-dir \
    -w "$dir/tmp" "$dir/src/llama_cpp_python-$version.tar.gz" >&2
  mv "$dir"/tmp/*.whl "$dir"/ && rm -rf "$dir/tmp" "$dir/src"
  wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl | head -n 1)
fi
echo "$wheel"
