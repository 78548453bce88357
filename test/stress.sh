#!/usr/bin/env bash
# `npm run test:stress`: the integration tests with busy loops taking CPU beside them, as on a shared CI
# machine. STRESS_LOOPS sets how many (default 2); extra arguments go to jest. The loops stop on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
loops=${STRESS_LOOPS:-2}
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM
for _ in $(seq "$loops"); do
  node -e 'for (;;) {}' &
  pids+=($!)
done
echo "test:stress: ${loops} busy loops running (pids ${pids[*]})"
if [ $# -gt 0 ]; then npx jest "$@"; else npx jest test/integration; fi
