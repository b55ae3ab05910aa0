#!/usr/bin/env bash
# Fuzz smoke run for the SCIM filter and PATCH parsers.
# With cargo-fuzz installed: ~20 s of libFuzzer per target (nightly features via RUSTC_BOOTSTRAP).
# Without it (the default here): build the targets as plain binaries and replay the seed corpus
# (every seed and every prefix of it), which still exercises the assertions in each target.
set -euo pipefail
cd "$(dirname "$0")"
SECS="${FUZZ_SECONDS:-20}"
if cargo fuzz --version >/dev/null 2>&1; then
  for t in scim_filter scim_patch; do
    RUSTC_BOOTSTRAP=1 cargo fuzz run --features libfuzzer "$t" "corpus/$t" -- -max_total_time="$SECS"
  done
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-../target}"
  for t in scim_filter scim_patch; do
    cargo run --quiet --bin "$t" -- "corpus/$t"
  done
fi
