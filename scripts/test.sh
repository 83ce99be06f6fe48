#!/usr/bin/env bash
# The whole test suite: installs what it needs (Debian packages, npm packages),
# type-checks, checks the dependency rules, lints, builds, then runs unit and end-to-end
# tests on real namespaces. A failing check stops before anything runs against dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

bash scripts/install-deps.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent typecheck
npm run --silent deps
npm run --silent lint
npm run --silent build

cleanup() { bash scripts/sweep-test-netns.sh || true; }
trap cleanup EXIT

files=(test/unit/**/*.test.ts test/e2e/**/*.test.ts)
if [ "$#" -gt 0 ]; then files=("$@"); fi
tap=$(mktemp /tmp/nsm-test-XXXXXX.tap)
status=0
NSM_LOG_LEVEL=${NSM_LOG_LEVEL:-silent} node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" || status=$?
pass=$(awk '/^# pass /{print $3}' "$tap"); fail=$(awk '/^# fail /{print $3}' "$tap"); skip=$(awk '/^# skipped /{print $3}' "$tap")
rm -f "$tap"
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$status"
