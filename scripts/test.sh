#!/usr/bin/env bash
# The test command: builds the engine, checks and tests every flow file with the engine's own CLI, then runs
# every test of the workspace. Loopback tests drive real peers (SIPp, baresip) and PostgreSQL; outside CI
# (CI unset) a missing tool is skipped with a message, under CI it fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p hotline-server --bin hotline
./target/debug/hotline flow check ivr-flows/*.yaml
./target/debug/hotline flow check sip-test/flows/*.yaml
./target/debug/hotline flow test ivr-flows/*.yaml
# No Docker engine here: keep the Docker files honest by checking every flag they pass is one `serve` takes.
serve_help="$(./target/debug/hotline serve --help)"
flags="$( (grep -E '^CMD' Dockerfile; grep -E '^ +- --' docker-compose.yml) | grep -oE -- '--[a-z][a-z-]+' | sort -u)"
[ -n "$flags" ] || { echo "no serve flags found in the Docker files" >&2; exit 1; }
for flag in $flags; do
  grep -q -- "$flag" <<<"$serve_help" || { echo "Docker files pass $flag, which hotline serve does not take" >&2; exit 1; }
done
grep -q HOTLINE_DATABASE <<<"$serve_help" || { echo "hotline serve no longer reads HOTLINE_DATABASE" >&2; exit 1; }
cargo test --locked --workspace -- --test-threads="${HOTLINE_TEST_THREADS:-2}"
