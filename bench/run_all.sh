#!/usr/bin/env bash
# Run the HTTP benchmark matrix: the token endpoint and the people page, each on SQLite with one
# worker and on PostgreSQL with one and two workers (measured in turn within each repetition, so
# the scripts print the 2-to-1 worker ratio). Every comparison runs both servers back to back.
#
#   bench/run_all.sh                      # 3 repetitions of 10 s each; about 30 minutes
#   bench/run_all.sh --repeat 1 --duration 5
#
# Arguments are passed to both scripts (--repeat, --duration, --warmup, --concurrency).
# BENCH_OUT names the folder for the printed tables and the JSON files; a new temporary folder
# otherwise. PostgreSQL must accept connections at 127.0.0.1:5432 as postgres (BENCH_POSTGRESQL_URL
# names another server); the scripts create their databases there and drop them at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=${BENCH_OUT:-$(mktemp -d -t citizenry-bench-results-XXXXXX)}
mkdir -p "$out"

# One virtual environment for the django-oauth-toolkit reference, installed once for all runs.
reference_venv=$(mktemp -d -t citizenry-bench-reference-XXXXXX)
trap 'rm -rf "$reference_venv"' EXIT

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpus: $(nproc)"
    echo "python: $("$python" --version 2>&1)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

run() {
    local name=$1
    shift
    echo
    echo "== $name: $*"
    "$python" "$@" --json "$out/$name.json" | tee "$out/$name.txt"
}

run token-sqlite bench/token_exchange.py --database sqlite --workers 1 \
    --venv "$reference_venv/venv" --dot-unhashed-secret "$@"
run token-postgresql bench/token_exchange.py --database postgresql --workers 1,2 \
    --venv "$reference_venv/venv" --dot-unhashed-secret "$@"
run people-sqlite bench/people_page.py --database sqlite --workers 1 "$@"
run people-postgresql bench/people_page.py --database postgresql --workers 1,2 "$@"

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tables and JSON files: $out"
