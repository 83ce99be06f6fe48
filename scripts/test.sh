#!/usr/bin/env bash
# The whole test suite: installs what it needs (Debian packages, npm packages),
# type-checks, checks the dependency rules, lints, builds, then runs unit tests, the
# in-process sandbox tier (as an unprivileged user when possible) and end-to-end tests on
# real namespaces. A failing check stops before anything runs against dist/.
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

tap=$(mktemp /tmp/nsm-test-XXXXXX.tap)
status=0
# Runs test files with node:test (spec to stdout, tap appended to $tap for the summary); "$@" may start with a
# command prefix (e.g. setpriv ...) before "--"; "--parallel" first runs two files at a time.
run() {
  local prefix=() concurrency=1
  if [ "$1" = "--parallel" ]; then concurrency=2; shift; fi
  while [ "$1" != "--" ]; do prefix+=("$1"); shift; done
  shift
  [ "$#" -gt 0 ] || return 0
  local dir part
  # A directory the prefix's user may create the report in (an unprivileged user cannot open root's file in /tmp).
  dir=$(mktemp -d /tmp/nsm-test-XXXXXX)
  chmod 777 "$dir"
  part="$dir/report.tap"
  "${prefix[@]}" env NSM_LOG_LEVEL="${NSM_LOG_LEVEL:-silent}" node --import tsx --test --test-concurrency="$concurrency" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$part" "$@" || status=$?
  cat "$part" >>"$tap" 2>/dev/null || true
  rm -rf "$dir"
}

# The sandbox tier needs no root: when run as root, it runs as nobody to prove it (if nobody can read the tree).
as_nobody=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  if "${nobody[@]}" test -r package.json -a -r node_modules/tsx/package.json -a -r test/sandbox/helpers/sandbox.ts 2>/dev/null; then
    as_nobody=("${nobody[@]}")
  else
    echo "sandbox tier: user nobody cannot read $(pwd): running it as root"
  fi
fi

if [ "$#" -gt 0 ]; then
  run -- "$@"
else
  # Order: unit, then the in-process sandbox (no root), then end-to-end tests on real namespaces.
  run -- test/unit/**/*.test.ts
  # Sandbox files share nothing (own temporary directory, ports and clock): two at a time.
  run --parallel "${as_nobody[@]}" -- test/sandbox/**/*.test.ts
  run -- test/e2e/**/*.test.ts
fi
sum() { awk -v k="$1" '$1 == "#" && $2 == k { n += $3 } END { print n + 0 }' "$tap"; }
pass=$(sum pass); fail=$(sum fail); skip=$(sum skipped)
rm -f "$tap"
echo "tests: ${pass} passed, ${fail} failed, ${skip} skipped"
exit "$status"
