#!/usr/bin/env bash
# The fuzz targets (fuzz/fuzz_targets/): what strangers can send hashbuy, each with the
# properties it must keep. Installs cargo-fuzz (pinned below) into .tools/, builds the
# targets against hashbuy-core with coverage instrumentation (into target/fuzz), and
# runs each one for a bounded time from the committed seeds (fuzz/seeds/TARGET) plus
# what earlier runs found (target/fuzz/corpus/TARGET). A crash fails the run and leaves
# its input in fuzz/artifacts/TARGET/.
#
#   tools/fuzz.sh                   every target for 20 s (what tests/run.sh runs)
#   tools/fuzz.sh 600               every target for ten minutes
#   FUZZ_TARGETS="x_webhook" tools/fuzz.sh 60
#   tools/fuzz.sh replay TARGET FILE
#                                   runs one input again (a crash's, say); once fixed,
#                                   copy it into fuzz/seeds/TARGET so every run tries it
#
# On the machine's stable toolchain: cargo-fuzz passes rustc flags that only nightly
# takes, and RUSTC_BOOTSTRAP=1 lets stable take them (no other toolchain is installed
# or fetched). No AddressSanitizer (`--sanitizer none`): hashbuy forbids `unsafe`, so
# what is hunted is a panic (an unwrap, an overflow, an index out of range: the build
# keeps debug assertions and overflow checks) and a broken property of a target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="0.13.2"
root="$PWD/.tools/cargo-fuzz"
cargo_fuzz="$root/bin/cargo-fuzz"
if [[ "$("$cargo_fuzz" --version 2>/dev/null)" != "cargo-fuzz $version" ]]; then
  echo "installing cargo-fuzz $version into $root"
  cargo install cargo-fuzz --version "=$version" --locked --root "$root"
fi

export RUSTC_BOOTSTRAP=1
target_dir="$PWD/target/fuzz"
run() {
  (cd fuzz && "$cargo_fuzz" run --sanitizer none --target-dir "$target_dir" "$@")
}

if [[ "${1:-}" == "replay" ]]; then
  [[ $# -eq 3 ]] || { echo "usage: tools/fuzz.sh replay TARGET FILE" >&2; exit 2; }
  run "$2" "$(realpath "$3")"
  exit
fi

seconds="${1:-20}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS | replay TARGET FILE]" >&2; exit 2; }
read -r -a targets <<< "${FUZZ_TARGETS:-x_webhook confirm_link payments_webhook merchant_offer}"
(cd fuzz && "$cargo_fuzz" build --sanitizer none --target-dir "$target_dir")
for t in "${targets[@]}"; do
  corpus="$target_dir/corpus/$t"
  log="$target_dir/$t.log"
  mkdir -p "$corpus"
  # -timeout: one input taking over a second is a finding too (a parser gone quadratic).
  if ! run "$t" "$corpus" "$PWD/fuzz/seeds/$t" -- -max_total_time="$seconds" -timeout=1 > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzzing $t found a failure: its input is in fuzz/artifacts/$t/ (tools/fuzz.sh replay $t FILE)" >&2
    exit 1
  fi
  echo "$t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1) (corpus $(find "$corpus" -type f | wc -l) inputs)"
done
echo "fuzzing: ${#targets[@]} targets, ${seconds} s each, no failure"
