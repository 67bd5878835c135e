#!/usr/bin/env bash
# Installs what ScaleLLM needs on a fresh Debian 12 machine (idempotent), fetches the default model into a
# git-ignored cache, and builds the release binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libuv1-dev libprotobuf-c-dev protobuf-c-compiler libzstd-dev libopenblas-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
