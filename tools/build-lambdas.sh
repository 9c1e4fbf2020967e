#!/usr/bin/env bash
# `sam build` from a clean tree: every function cross-compiled for arm64 by cargo-lambda
# (zig links; no Docker), then the size of each deployable bootstrap, zipped as Lambda
# receives it. The SAM CLI and cargo-lambda are pinned in tools/requirements-sam.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/venv.sh

sam_venv="$(ensure_venv sam tools/requirements-sam.txt)"
export PATH="$sam_venv/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
rustup target add aarch64-unknown-linux-gnu

start=$SECONDS
sam build
echo "sam build took $((SECONDS - start)) s"

"$sam_venv/bin/python" - <<'PY'
import io, pathlib, zipfile
total = 0
for bootstrap in sorted(pathlib.Path(".aws-sam/build").glob("*/bootstrap")):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(bootstrap, "bootstrap")
    size = len(buffer.getvalue())
    total += size
    print(f"{bootstrap.parent.name:28} bootstrap {bootstrap.stat().st_size / 1e6:5.2f} MB, zipped {size / 1e6:5.2f} MB")
print(f"{'all functions':28} zipped {total / 1e6:5.2f} MB")
PY
