#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite. Hot loops are compiled with -Ounchecked even in debug
# (Package.swift) and GEMMs run in OpenBLAS, so the suite runs in debug mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build --build-tests
exec swift test --skip-build "$@"
