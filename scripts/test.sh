#!/usr/bin/env bash
# The test command: builds the engine binary the loopback tests run, then every test of the workspace.
# Loopback tests drive real peers (SIPp, baresip) and PostgreSQL; outside CI (CI unset) a missing tool is
# skipped with a message, under CI it fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p hotline-server --bin hotline
cargo test --locked --workspace -- --test-threads="${HOTLINE_TEST_THREADS:-2}"
