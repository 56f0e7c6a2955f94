#!/bin/sh
# Starts the service with the kafka thread's V8 heap sized from the memory budget
# (MEMORY_LIMIT, else the cgroup's limit, else 2 GiB; src/memory/memory-budget.ts).
# The worker threads size their own heaps; only the main thread needs a flag, which
# must be given before the process starts. An operator's own --max-old-space-size in
# NODE_OPTIONS wins.
set -eu
cd "$(dirname "$0")/.."
# The flags node-args.js prints (none when the configuration is invalid) are split
# into words on purpose.
# shellcheck disable=SC2046
case " ${NODE_OPTIONS:-} " in
  *--max-old-space-size*) exec node dist/src/main.cjs "$@" ;;
  *) exec node $(node dist/src/memory/node-args.js) dist/src/main.cjs "$@" ;;
esac
