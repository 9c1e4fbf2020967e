#!/usr/bin/env bash
# Lints the SAM template with cfn-lint (which applies the SAM transform, as `sam validate`
# does) and scans it with checkov, each pinned and in a virtual environment of its own.
# Both run offline, without AWS credentials. Every check checkov is told to skip is
# skipped in the template, next to its reason, so a new finding fails the build. The SAM
# CLI is a deploy tool: tools/build-lambdas.sh installs it and runs `sam validate --lint`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/venv.sh

cfn_lint="$(ensure_venv cfn-lint tools/requirements-cfn-lint.txt)/bin/cfn-lint"
checkov="$(ensure_venv checkov tools/requirements-checkov.txt)/bin/checkov"

"$cfn_lint" infra/template.yaml
echo "cfn-lint: infra/template.yaml is clean"

# --skip-download: no call home for its guideline mappings (this machine is offline).
"$checkov" --file infra/template.yaml --framework cloudformation --compact --quiet \
  --skip-download --output cli
echo "checkov: no finding beyond the ones declined in the template"
