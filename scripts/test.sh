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
# The four checks share nothing (build writes dist/, the others only read): they run side by side, and
# a failing one stops everything after all four have finished. The build here only emits (tsc --noCheck,
# a third less CPU than `npm run build`): typecheck checks the same sources (tsconfig.json includes src/).
start=$SECONDS
checks_dir=$(mktemp -d /tmp/nsm-checks-XXXXXX)
checks=(typecheck deps lint build)
pids=()
for c in "${checks[@]}"; do
  if [ "$c" = build ]; then
    node_modules/.bin/tsc -p tsconfig.build.json --noCheck >"$checks_dir/$c.log" 2>&1 &
  else
    npm run --silent "$c" >"$checks_dir/$c.log" 2>&1 &
  fi
  pids+=($!)
done
checks_ok=1
for i in "${!checks[@]}"; do
  if ! wait "${pids[$i]}"; then checks_ok=0; echo "npm run ${checks[$i]} failed:"; fi
  cat "$checks_dir/${checks[$i]}.log"
done
rm -rf "$checks_dir"
[ "$checks_ok" = 1 ] || exit 1
times=("checks $((SECONDS - start)) s")

cleanup() { bash scripts/sweep-test-netns.sh || true; }
trap cleanup EXIT

tap=$(mktemp /tmp/nsm-test-XXXXXX.tap)
durations=$(mktemp /tmp/nsm-test-XXXXXX.txt)
status=0
# Runs test files with node:test (spec to stdout, tap appended to $tap for the summary, per-file durations
# appended to $durations); "$@" may start with a command prefix (e.g. setpriv ...) before "--";
# "--parallel" first runs two files at a time, "--jobs N" N at a time.
run() {
  local prefix=() concurrency=1
  if [ "$1" = "--parallel" ]; then concurrency=2; shift; fi
  if [ "$1" = "--jobs" ]; then concurrency=$2; shift 2; fi
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
    --test-reporter=tap --test-reporter-destination="$part" \
    --test-reporter=./scripts/file-durations.mjs --test-reporter-destination="$dir/durations.txt" "$@" || status=$?
  cat "$part" >>"$tap" 2>/dev/null || true
  cat "$dir/durations.txt" >>"$durations" 2>/dev/null || true
  rm -rf "$dir"
}

# Runs one tier's files by weight: schedule LABEL LIST JOBS FILE... (see scripts/schedule-tests.mjs); its
# summary line ("alone N s, heavy ...") goes into the wall-time line.
schedule_note=""
schedule() {
  local label=$1 list=$2 jobs=$3 log
  shift 3
  schedule_note=""
  [ "$#" -gt 0 ] || return 0
  log=$(mktemp /tmp/nsm-test-XXXXXX.log)
  node --disable-warning=MaxListenersExceededWarning --import tsx scripts/schedule-tests.mjs --label "$label" --list "$list" \
    --jobs "$jobs" --tap "$tap" --durations "$durations" -- "$@" | tee "$log" || status=1
  schedule_note=" ($(grep -o 'alone [0-9]* s.*' "$log" || echo 'no summary'))"
  rm -f "$log"
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
  # NSM_TEST_TIERS (default "unit sandbox e2e") picks tiers, e.g. NSM_TEST_TIERS=e2e.
  tiers=" ${NSM_TEST_TIERS:-unit sandbox e2e} "
  # Unit files run two at a time (NSM_UNIT_JOBS), except those test/unit/serial.txt lists (real-time gaps
  # and deadlines of tens of milliseconds): they run first, one at a time (scripts/schedule-tests.mjs).
  start=$SECONDS schedule_note=""
  [[ "$tiers" != *" unit "* ]] || schedule unit test/unit/serial.txt "${NSM_UNIT_JOBS:-2}" test/unit/**/*.test.ts
  times+=("unit $((SECONDS - start)) s${schedule_note}")
  # Sandbox files share nothing (own temporary directory, ports and clock): two at a time.
  start=$SECONDS
  [[ "$tiers" != *" sandbox "* ]] || run --parallel "${as_nobody[@]}" -- test/sandbox/**/*.test.ts
  times+=("sandbox $((SECONDS - start)) s")
  # End-to-end by weight (scripts/schedule-tests.mjs): the files test/e2e/serial.txt marks `alone` run
  # first, one at a time; then those it marks `heavy` (CPU-heavy or deadlines of 15 s; the reason is on
  # each line) one at a time, beside unlisted files, which share nothing and fill the other slots;
  # `group:NAME` files (machine-wide: DPDK process counts, podman; iperf3 runs beside tight deadlines) never run
  # beside one of their groups.
  # NSM_E2E_JOBS (default 3) files at a time in all.
  start=$SECONDS schedule_note=""
  [[ "$tiers" != *" e2e "* ]] || schedule e2e test/e2e/serial.txt "${NSM_E2E_JOBS:-3}" test/e2e/**/*.test.ts
  times+=("e2e $((SECONDS - start)) s${schedule_note}")
fi
sum() { awk -v k="$1" '$1 == "#" && $2 == k { n += $3 } END { print n + 0 }' "$tap"; }
pass=$(sum pass); fail=$(sum fail); skip=$(sum skipped)
echo "slowest test files (s, summed test durations):"
# awk reads all of sort's output (head would close the pipe early: SIGPIPE fails the script under pipefail)
sort -rn "$durations" | awk -v root="$(pwd)/" 'NR <= 15 { sub(root, "", $4); printf "  %6.1f  %s\n", $1 / 1000, $4 }'
rm -f "$tap" "$durations"
echo "tests: ${pass} passed, ${fail} failed, ${skip} skipped"
(IFS=';'; echo "wall time: ${times[*]};total $SECONDS s" | sed 's/;/, /g')
exit "$status"
