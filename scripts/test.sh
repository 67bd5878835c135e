#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite. Hot loops are compiled with -Ounchecked even in debug
# (Package.swift) and GEMMs run in OpenBLAS, so the suite runs in debug mode.
# The full log is kept in .build/test.log; its failures are repeated at the end, where a truncated CI log
# still shows them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build --build-tests
log=.build/test.log
status=0
swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
    echo "=== failures (full log: $log) ==="
    grep -E "error: |: failed|Fatal error|Test Case .* failed" "$log" | head -50 || true
fi
exit "$status"
