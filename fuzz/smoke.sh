#!/usr/bin/env bash
# Fuzz smoke run for every parser of untrusted bytes (one target each, see fuzz_targets/).
# With cargo-fuzz installed: ~20 s of libFuzzer per target (nightly features via RUSTC_BOOTSTRAP).
# Without it (the default here): build the targets as plain binaries and replay the seed corpus
# (every seed and every prefix of it), which still exercises the assertions in each target.
set -euo pipefail
cd "$(dirname "$0")"
TARGETS="scim_filter scim_patch go_json h1_guard route_path saml_structure xmlenc acs_form scim_decode entra_token"
SECS="${FUZZ_SECONDS:-20}"
if cargo fuzz --version >/dev/null 2>&1 && [ -z "${FUZZ_REPLAY_ONLY:-}" ]; then
  # New inputs go to a scratch directory so the committed seeds (fuzz/seeds) stay small.
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  for t in $TARGETS; do
    mkdir -p "$scratch/$t"
    # --dev: the dev profile (CI machines are small); -s none: no sanitizer, the crate forbids unsafe.
    RUSTC_BOOTSTRAP=1 cargo fuzz run --dev -s none --features libfuzzer "$t" "$scratch/$t" "seeds/$t" \
      -- -max_total_time="$SECS"
  done
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-../target}"
  for t in $TARGETS; do
    cargo run --quiet --bin "$t" -- "seeds/$t"
  done
fi
