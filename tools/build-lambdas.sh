#!/usr/bin/env bash
# `sam build` from a clean tree: every function cross-compiled for arm64 by cargo-lambda
# (zig links; no Docker), then the size of each deployable bootstrap, zipped as Lambda
# receives it. The SAM CLI and cargo-lambda are pinned in tools/requirements-sam.txt and
# tools/requirements-cargo-lambda.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/venv.sh

sam_venv="$(ensure_venv sam tools/requirements-sam.txt)"
cargo_lambda_venv="$(ensure_venv cargo-lambda tools/requirements-cargo-lambda.txt)"
# cargo-lambda's venv first: cargo-lambda finds zig through `python3 -m ziglang`, so the
# `python3` on PATH must be the one ziglang is installed in (sam keeps its own shebang).
export PATH="$cargo_lambda_venv/bin:$sam_venv/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
rustup target add aarch64-unknown-linux-gnu

# No call is made; sam wants a region to resolve AWS::Region.
sam validate --lint --template-file infra/template.yaml

start=$SECONDS
built_after="$(mktemp)"
# All the functions in one cargo invocation first: sam builds them one by one
# (`cargo lambda build --release --arm64 --bin NAME`, in the workspace's target
# directory), and each build's time is mostly its fat-LTO link, on one core. Built
# together, cargo links two at a time; sam's own builds then find them up to date. Same
# command, flags and target directory as sam's, so the same features and fingerprints.
mapfile -t functions < <(sed -n 's/^ *Binary: *//p' infra/template.yaml)
bins=()
for function in "${functions[@]}"; do bins+=(--bin "$function"); done
CARGO_TARGET_DIR="$PWD/target" cargo lambda build --release --arm64 "${bins[@]}"
echo "cargo lambda build of ${#functions[@]} functions took $((SECONDS - start)) s"
sam build
echo "sam build (all of it) took $((SECONDS - start)) s"

# The deployed libraries (hashbuy, hashbuy-core) must not carry the local stack's
# `harness` feature (see the workspace's default-members): look at the fingerprints of
# what this build compiled.
if find target/aarch64-unknown-linux-gnu/release/.fingerprint -name 'lib-hashbuy*.json' \
  -newer "$built_after" -exec grep -l '"features":"\[\\"harness' {} + | grep -q .; then
  echo "the functions were built with hashbuy's harness feature" >&2
  exit 1
fi

python3 tools/sizes.py
