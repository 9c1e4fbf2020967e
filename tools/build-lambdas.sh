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
sam build
echo "sam build took $((SECONDS - start)) s"

python3 tools/sizes.py
