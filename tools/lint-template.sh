#!/usr/bin/env bash
# Lints the SAM template with cfn-lint and `sam validate --lint`, each pinned and in a
# virtual environment of its own. Both run offline, without AWS credentials.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/venv.sh

cfn_lint="$(ensure_venv cfn-lint tools/requirements-cfn-lint.txt)/bin/cfn-lint"
sam="$(ensure_venv sam tools/requirements-sam.txt)/bin/sam"

"$cfn_lint" infra/template.yaml
echo "cfn-lint: infra/template.yaml is clean"
# sam wants a region to resolve AWS::Region; no call is made.
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 \
  "$sam" validate --lint --template-file infra/template.yaml
