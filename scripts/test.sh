#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite in release mode (numeric code is too slow in debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build -c release -Xswiftc -enable-testing --build-tests
exec swift test -c release -Xswiftc -enable-testing --skip-build "$@"
