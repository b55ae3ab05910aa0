#!/usr/bin/env bash
# One-time machine set-up, idempotent and quick when everything is already there:
# - Debian packages the build and the tests need;
# - PostgreSQL on 127.0.0.1:5432 (trust auth) with a `test` database, for the store tests.
#   The store's TLS tests (tests/it/store_tls.rs) turn the server's TLS on themselves, once and
#   idempotently (a generated CA in the data directory, ALTER SYSTEM, reload): nothing to do here.
# Used by the README's two commands and by .ci/run. Needs root (or sudo) only when something is
# missing.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# libxmlsec1-dev, libxml2-dev and libclang-dev build samael (SAML signature checks, via bindgen);
# xmlsec1 is the independent tool the login-gate tests sign SAML responses with.
need=()
for pkg in pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev xmlsec1; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# nginx-light: the third side of `cargo bench --bench proxy_overhead` (the bench starts its own
# nginx with a generated configuration). RUNLEVEL=1 keeps the package from starting nginx's own
# service on port 80. Optional: a failure here only skips that side of the bench.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "setup: installing nginx-light (benchmarks only)" >&2
  as_root apt-get update -qq || true
  as_root env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || true
fi

# PostgreSQL: only for the tests; a failure here does not stop `cargo run`.
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && [ -d /etc/postgresql ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" || true
  fi
fi
