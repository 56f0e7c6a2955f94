#!/usr/bin/env bash
# Checks the container and Kubernetes files without a container engine or a cluster
# (docs/deploy.md, "What is checked here"): the unit test that validates them against
# the Kubernetes and Compose schemas and src/config.ts, then the command-line linters
# that are installed. A linter that is missing is said, not skipped silently.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
failed=0
# shellcheck disable=SC2317 # called through run
kustomize_build() { local out; out=$(kubectl kustomize deploy/k8s) && echo "builds: $(grep -c '^kind:' <<<"$out") objects"; }
run() { # run <title> <command...>
  printf '\n== %s\n' "$1"; shift
  "$@" || { echo "FAILED: $*"; failed=1; }
}

run "schemas and settings (test/deploy/deploy-files.test.ts)" npx vitest run --project unit test/deploy
run "dclint docker-compose.yml" npx dclint docker-compose.yml
if command -v kubectl >/dev/null; then
  run "kubectl kustomize deploy/k8s" kustomize_build
else
  printf '\n== kubectl: not installed, the kustomization build is not checked\n'
fi
if command -v shellcheck >/dev/null; then
  run "shellcheck scripts/start.sh scripts/lint-deploy.sh" shellcheck scripts/start.sh scripts/lint-deploy.sh
else
  printf '\n== shellcheck: not installed (apt-get install shellcheck), scripts/start.sh is not checked\n'
fi
if command -v hadolint >/dev/null; then
  run "hadolint Dockerfile" hadolint Dockerfile
else
  printf '\n== hadolint: not installed (in neither Debian nor npm), the Dockerfile is checked by dockerfile-utils only\n'
fi
exit "$failed"
