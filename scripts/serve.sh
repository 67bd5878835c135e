#!/usr/bin/env bash
# Sets up (idempotent) and starts ScaleLLM on the default model: OpenAI-compatible API on http://127.0.0.1:8000.
# Extra arguments go to `scalellm serve` (e.g. --model PATH, --port P, --host H).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .build/release/scalellm serve "$@"
