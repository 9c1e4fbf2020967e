#!/usr/bin/env bash
# The benchmark, against the budgets in local/src/bench/mod.rs; exits non-zero when one
# is broken, so it can guard a release. Figures go to target/bench/.
#
#   tools/bench.sh          everything: release builds for the host; bootstrap sizes (and
#                           arm64's, when tools/build-lambdas.sh has run); counts and cost
#                           per purchase; throughput in memory and on the emulator; a
#                           flash sale under X's write limits (1,000 shoppers, 300 units,
#                           3 hours on the stack's clock, in memory); each function's cold
#                           start, latency and peak memory; 5,000 chaos stories; then
#                           handler CPU per step (criterion).
#   tools/bench.sh --cheap  what CI runs after tools/build-lambdas.sh: arm64 sizes, the
#                           counts per purchase, held to the DynamoDB budget and to
#                           tools/bench-baseline.json (none may rise), and the flash sale's
#                           invariants (~20 s in memory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/venv.sh

cheap=false
case "${1:-}" in
  --cheap) cheap=true ;;
  "") ;;
  *) echo "usage: tools/bench.sh [--cheap]" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*"; }
mkdir -p target/bench

step "starting the AWS emulator (moto server)"
moto_venv="$(ensure_venv moto tools/requirements-moto.txt)"
port="$(free_port)"
"$moto_venv/bin/python" tools/moto_serial.py -H 127.0.0.1 -p "$port" > target/bench/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
wait_for_http "http://127.0.0.1:$port/moto-api/data.json" 60
endpoint="http://127.0.0.1:$port"

if $cheap; then
  step "bootstrap sizes (arm64, from sam build)"
  python3 tools/sizes.py --json target/bench/sizes.json
  step "counts per purchase"
  cargo run --locked --quiet -p hashbuy-local --bin hashbuy-bench -- --aws-endpoint "$endpoint" \
    --sizes target/bench/sizes.json --shoppers 0 \
    --flash-sale-shoppers 1000 --flash-sale-units 300 \
    --baseline tools/bench-baseline.json --json target/bench/report.json
  exit
fi

step "release builds (host)"
packages=()
for crate in functions/*/; do packages+=(-p "$(basename "$crate")"); done
# Two builds, not one: built together, the functions would link the library with the
# local stack's `harness` feature; apart, each is what `sam build` deploys.
cargo build --release --locked "${packages[@]}"
cargo build --release --locked -p hashbuy-local

step "bootstrap sizes"
python3 tools/sizes.py --host --json target/bench/sizes.json

step "purchases, throughput and functions"
status=0
target/release/hashbuy-bench --aws-endpoint "$endpoint" --functions target/release \
  --sizes target/bench/sizes.json --flash-sale-shoppers 1000 --flash-sale-units 300 \
  --json target/bench/report.json || status=$?

step "chaos: 5,000 random stories under injected faults, and a crash after every write of 100 (shared/tests/chaos)"
HASHBUY_CHAOS_STORIES=5000 HASHBUY_CHAOS_CRASH_STORIES=100 \
  cargo test --locked -q -p hashbuy --test chaos -- --nocapture \
  | grep -E '^(chaos|crash points):' || status=1

step "handler CPU per step (criterion)"
cargo bench --locked -p hashbuy --bench steps
exit "$status"
