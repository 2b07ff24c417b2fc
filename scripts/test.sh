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
cargo test --locked --workspace -- --test-threads="${HOTLINE_TEST_THREADS:-2}"
