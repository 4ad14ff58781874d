#!/usr/bin/env bash
# Rebuild the waveform component from its TypeScript source, as CI does: install the pinned tools (package-lock.json),
# type-check, run its unit tests, and bundle frontend/src into waveform.js (commit the result).
#   bash core/ui/waveform/build.sh
set -euo pipefail
cd "$(dirname "$0")/frontend"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent check
npm run --silent test
npm run --silent build
