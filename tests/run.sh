#!/usr/bin/env bash
# hashbuy's test command. From a fresh clone it installs what the tests need (the AWS
# and Stripe emulators, the browser, the template linter), starts the emulators on free loopback ports, checks
# formatting and lints, runs every test of the workspace, and stops the emulators on
# every exit path. Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=../tools/venv.sh
source tools/venv.sh

step() { printf '\n== %s\n' "$*"; }

step "installing the AWS emulator (moto server, pinned in tools/requirements-moto.txt)"
moto_venv="$(ensure_venv moto tools/requirements-moto.txt)"

step "installing the Stripe emulator (localstripe, pinned in tools/requirements-localstripe.txt)"
stripe_venv="$(ensure_venv localstripe tools/requirements-localstripe.txt)"

step "installing the browser (Debian's chromium) and playwright-core (pinned in tests/browser)"
# shellcheck source=../tools/browser.sh
source tools/browser.sh
ensure_chromium
ensure_playwright

step "starting the emulators"
mkdir -p target
port="$(free_port)"
# One request at a time, so conditional writes are atomic as in AWS (see the script).
"$moto_venv/bin/python" tools/moto_serial.py -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto_pid=$!
stripe_port="$(free_port)"
# --from-scratch: localstripe keeps its data on disk between runs otherwise.
"$stripe_venv/bin/localstripe" --port "$stripe_port" --from-scratch > target/localstripe.log 2>&1 &
stripe_pid=$!
stop_emulators() {
  kill "$moto_pid" "$stripe_pid" 2>/dev/null || true
  wait "$moto_pid" "$stripe_pid" 2>/dev/null || true
}
trap stop_emulators EXIT INT TERM
wait_for_http "http://127.0.0.1:$port/moto-api/data.json" 60
export HASHBUY_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
echo "moto server (pid $moto_pid) on $HASHBUY_TEST_AWS_ENDPOINT"
wait_for_http "http://127.0.0.1:$stripe_port/js.stripe.com/v3/" 60
export HASHBUY_TEST_STRIPE_ENDPOINT="http://127.0.0.1:$stripe_port"
echo "localstripe (pid $stripe_pid) on $HASHBUY_TEST_STRIPE_ENDPOINT"

step "formatting"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The fuzz targets are their own workspace (fuzz/Cargo.toml), checked into their own
# directory: the instrumented build in target/fuzz would be rebuilt after a plain one.
cargo clippy --manifest-path fuzz/Cargo.toml --locked --target-dir target/fuzz-lint -- -D warnings

step "tests: unit, contract (in memory and on the emulator), end to end"
cargo test --workspace --locked 2>&1 | tee target/test.log
# Tests that inject faults capture the logs they cause and show them only on failure, so a
# passing run prints no ERROR line; one here is a log that escaped its test.
if grep -q '"level":"ERROR"' target/test.log; then
  echo "tests passed but printed ERROR log lines (above): capture them in the test that causes them" >&2
  exit 1
fi

step "browser: the account story and its refusals in chromium, in memory and on the emulators"
# The stack binary the end-to-end tests just built (a `cargo build -p` here would resolve
# features apart from the workspace's and build everything a second time).
[[ -x target/debug/hashbuy-local ]] || { echo "target/debug/hashbuy-local is missing" >&2; exit 1; }
localstripe_args=(--card-processor-base "$HASHBUY_TEST_STRIPE_ENDPOINT" --card-processor-dialect localstripe)
browser_story in-memory "${localstripe_args[@]}"
browser_story emulator "${localstripe_args[@]}" --aws-endpoint "$HASHBUY_TEST_AWS_ENDPOINT"
echo "screenshots: target/browser/"

step "benchmarks, each step once as a smoke test (tools/bench.sh measures them)"
cargo test --locked -p hashbuy --bench steps

step "fuzzing: each target 20 s from its seeds (tools/fuzz.sh installs cargo-fuzz)"
tools/fuzz.sh 20

if [[ -x tools/lint-template.sh ]]; then
  step "infrastructure template"
  tools/lint-template.sh
fi

# One closing line for the whole run, counted over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "\nhashbuy: %d passed, %d failed\n", p, f; exit (f > 0) }' target/test.log
