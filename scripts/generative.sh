#!/bin/sh
# Runs the generative restore suite (test/generative/) with more cases, or other ones, than CI.
#
#   scripts/generative.sh [--runs=N] [--seed=N] [--path=P] [--shrink-seconds=N] [vitest arguments…]
#   npm run test:generative -- --runs=5000
#
#   --runs=N            cases in all, shared out among the properties like CI's 356 (default: 5000)
#   --seed=N            base seed (default: a new one each time, printed first; CI uses 1313)
#   --path=P            replay one case: fast-check's path, as a failure prints it (with its seed)
#   --shrink-seconds=N  time spent looking for a smaller failing case (default 30; 0: none)
#
# Anything else goes to vitest, e.g. a file (test/generative/restore-s3-zstd.test.ts) or -t "<name>".
# A failure prints the one command that reproduces exactly that case.
set -eu
cd "$(dirname "$0")/.."

runs=5000
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
while [ $# -gt 0 ]; do
  case "$1" in
    --runs=*) runs=${1#--runs=} ;;
    --seed=*) seed=${1#--seed=} ;;
    --path=*) export GENERATIVE_PATH="${1#--path=}" ;;
    --shrink-seconds=*) export GENERATIVE_SHRINK_SECONDS="${1#--shrink-seconds=}" ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
  shift
done
# fast-check seeds are 32-bit integers.
seed=$((seed % 2147483648))
export GENERATIVE_RUNS="$runs" GENERATIVE_SEED="$seed"
echo "Generative restore suite: $runs cases, seed $seed (rerun with --seed=$seed)"

# bin/restore runs from dist/, so the end-to-end cases need a fresh build.
npm run --silent build
if [ $# -eq 0 ]; then set -- test/generative/; fi
exec npx vitest run "$@"
