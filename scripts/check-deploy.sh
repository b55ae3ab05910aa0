#!/usr/bin/env bash
# Checks the deployment kit (deploy/, Dockerfile): fast (about half a minute once the tools are
# installed), idempotent, and it installs what it lacks (Debian: prometheus for promtool,
# docker-compose, systemd; PyPI: PyYAML, kubernetes-validate). Needs root (or sudo) only when
# something is missing.
#
#   bash scripts/check-deploy.sh                 # every check
#   SCIM_SIDECAR_BIN=path bash scripts/check-deploy.sh
#   CHECK_DEPLOY_NO_BINARY=1 bash scripts/check-deploy.sh   # ignore built binaries
#   CHECK_DEPLOY_WRITE_DUMP=1 bash scripts/check-deploy.sh  # refresh deploy/prometheus/metrics.txt
#
# What it checks:
#  1. deploy/prometheus/alerts.yaml: promtool check rules, and promtool test rules on
#     alerts.test.yaml (each alert fires, and only, when it should); promtool check config on
#     deploy/prometheus/prometheus.yml (the compose file's monitoring profile);
#  2. deploy/grafana/scim-sidecar.json is what scripts/gen-dashboard.py writes;
#  3. every metric the dashboard and the rules query is exported by the sidecar: against a live
#     /metrics of the sidecar binary in front of the Grafana emulator when both binaries are
#     built (target/debug or target/release; SCIM_SIDECAR_BIN and GRAFANA_EMULATOR_BIN override),
#     else against the committed dump deploy/prometheus/metrics.txt (a live run also checks that
#     the dump is current);
#  4. deploy/kubernetes/: every manifest against the Kubernetes schemas (strict), the kustomization
#     renders (when kubectl is there), and the probes, ports, grace periods and service links;
#  5. deploy/helm/grafana-values.yaml: the chart's pod with these values against the schemas;
#  6. deploy/compose/docker-compose.yaml: `docker-compose config` (Compose schema, interpolation);
#  7. deploy/systemd/scim-sidecar.service: `systemd-analyze verify`, and `systemd-analyze security`
#     at exposure 2.0 or below;
#  8. with a sidecar binary: `scim-sidecar check-config` accepts every configuration the kit ships
#     (Kubernetes, Helm, compose, systemd, image).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '\n== %s\n' "$*"; }

# --- tools -----------------------------------------------------------------------------------
apt_need=()
command -v promtool >/dev/null || apt_need+=(prometheus)
command -v docker-compose >/dev/null || apt_need+=(docker-compose)
command -v systemd-analyze >/dev/null || apt_need+=(systemd)
if [ ${#apt_need[@]} -gt 0 ]; then
  echo "check-deploy: installing ${apt_need[*]}" >&2
  as_root apt-get update -qq
  # The prometheus package's service is not wanted; policy-rc.d keeps it from starting.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import yaml, kubernetes_validate' 2>/dev/null; then
  echo "check-deploy: installing PyYAML and kubernetes-validate" >&2
  "$PY" -m pip install -q --disable-pip-version-check PyYAML kubernetes-validate
fi

WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. alert rules --------------------------------------------------------------------------
log "alert rules (promtool $(promtool --version 2>&1 | head -n1 | awk '{print $3}'))"
promtool check rules deploy/prometheus/alerts.yaml
promtool check config deploy/prometheus/prometheus.yml
(cd deploy/prometheus && promtool test rules alerts.test.yaml)

# --- 2. dashboard ----------------------------------------------------------------------------
log "dashboard"
"$PY" scripts/gen-dashboard.py --check

# --- 3. metric names -------------------------------------------------------------------------
# The newest build of a binary, debug or release.
find_bin() {
  local f
  f=$(ls -t target/debug/"$1" target/release/"$1" 2>/dev/null | head -n1 || true)
  [ -n "$f" ] && [ -x "$f" ] && echo "$ROOT/$f"
  return 0
}
if [ -n "${CHECK_DEPLOY_NO_BINARY:-}" ]; then
  SIDECAR= EMULATOR=
else
  SIDECAR=${SCIM_SIDECAR_BIN:-$(find_bin scim-sidecar)}
  EMULATOR=${GRAFANA_EMULATOR_BIN:-$(find_bin examples/grafana-emulator)}
fi
DUMP=${METRICS_DUMP:-deploy/prometheus/metrics.txt}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ -n "$SIDECAR" ] && [ -n "$EMULATOR" ]; then
  log "metric names, against a running sidecar ($SIDECAR)"
  gport=$(free_port); pport=$(free_port); aport=$(free_port)
  "$EMULATOR" --listen "127.0.0.1:$gport" >"$WORK/emulator.log" 2>&1 & pids+=($!)
  : >"$WORK/empty.toml"
  env -i PATH="$PATH" SIDECAR_SCIM_TOKEN=check-deploy-token-0123456789 \
    "$SIDECAR" --config "$WORK/empty.toml" --listen "127.0.0.1:$pport" --admin-listen "127.0.0.1:$aport" \
    --grafana-url "http://127.0.0.1:$gport" --store-url "sqlite://$WORK/metrics.db" serve \
    >"$WORK/sidecar.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$aport/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # One request of each kind the dashboard shows, so that the families have series too.
  curl -s -o /dev/null -H 'Authorization: Bearer check-deploy-token-0123456789' \
    "http://127.0.0.1:$pport/scim/v2/Users" || true
  curl -s -o /dev/null -u admin:admin "http://127.0.0.1:$pport/api/org" || true
  curl -fsS "http://127.0.0.1:$aport/metrics" >"$WORK/metrics.txt"
  "$PY" scripts/check_deploy.py metrics "$WORK/metrics.txt"
  if [ -n "${CHECK_DEPLOY_WRITE_DUMP:-}" ]; then
    cp "$WORK/metrics.txt" "$DUMP"
    echo "  wrote $DUMP"
  fi
  # The committed dump must name the same families as the binary.
  if ! diff <(grep '^# TYPE' "$DUMP" | sort) <(grep '^# TYPE' "$WORK/metrics.txt" | sort); then
    echo "check-deploy: $DUMP is out of date (families differ from the binary's); refresh it with:" >&2
    echo "  CHECK_DEPLOY_WRITE_DUMP=1 bash scripts/check-deploy.sh" >&2
    exit 1
  fi
else
  log "metric names, against the committed dump $DUMP (no built binaries found)"
  "$PY" scripts/check_deploy.py metrics "$DUMP"
fi

# --- 4, 5. Kubernetes and Helm ---------------------------------------------------------------
log "Kubernetes manifests"
"$PY" scripts/check_deploy.py kubernetes
if command -v kubectl >/dev/null; then
  kubectl kustomize deploy/kubernetes >"$WORK/kustomized.yaml"
  "$PY" -m kubernetes_validate --strict --quiet -k 1.33.0 "$WORK/kustomized.yaml" 2>/dev/null \
    || kubernetes-validate --strict --quiet -k 1.33.0 "$WORK/kustomized.yaml"
  echo "  kubectl kustomize deploy/kubernetes: renders, $(grep -c '^kind:' "$WORK/kustomized.yaml") resources, valid"
else
  echo "  (kubectl not installed: the kustomization render is not checked)"
fi
log "Helm values for the grafana chart"
"$PY" scripts/check_deploy.py helm

# --- 6. compose ------------------------------------------------------------------------------
log "docker-compose ($(docker-compose version --short 2>/dev/null || echo '?'))"
docker-compose -f deploy/compose/docker-compose.yaml --env-file deploy/compose/example.env config -q
docker-compose -f deploy/compose/docker-compose.yaml --env-file deploy/compose/example.env \
  --profile monitoring config -q
"$PY" -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' deploy/compose/grafana-provisioning/*.yaml
echo "  deploy/compose/docker-compose.yaml: valid with example.env, with and without the monitoring profile"

# --- 7. systemd ------------------------------------------------------------------------------
log "systemd unit ($(systemd-analyze --version | head -n1))"
# verify wants ExecStart's binary to exist: point it at a real executable.
mkdir -p "$WORK/systemd"
sed "s#/usr/local/bin/scim-sidecar#${SIDECAR:-/bin/true}#g" deploy/systemd/scim-sidecar.service \
  >"$WORK/systemd/scim-sidecar.service"
systemd-analyze verify "$WORK/systemd/scim-sidecar.service"
echo "  systemd-analyze verify: ok"
# Offline mode reads the unit file alone, with no running systemd (containers, CI).
systemd-analyze security --offline=yes --threshold=20 "$WORK/systemd/scim-sidecar.service" \
  >"$WORK/security.txt" || { cat "$WORK/security.txt"; echo "exposure above 2.0" >&2; exit 1; }
echo "  systemd-analyze security: $(tail -n1 "$WORK/security.txt" | sed 's/.*: //')"

# --- 8. shipped configurations ---------------------------------------------------------------
if [ -n "$SIDECAR" ]; then
  log "shipped configurations, judged by scim-sidecar check-config"
  "$PY" scripts/check_deploy.py configs "$WORK/configs" >/dev/null
  for toml in "$WORK"/configs/*.toml; do
    name=$(basename "$toml" .toml)
    # Only the recipe's own variables: env -i drops the caller's SIDECAR_* and others.
    if ! out=$(env -i PATH="$PATH" $(cat "$WORK/configs/$name.env") \
        "$SIDECAR" --config "$toml" check-config --quiet 2>&1); then
      echo "$out" >&2
      echo "check-deploy: the $name configuration is invalid" >&2
      exit 1
    fi
    echo "  $name: $(echo "$out" | head -n1)"
  done
else
  log "shipped configurations: skipped (no scim-sidecar binary built)"
fi

log "deploy kit: every check passed"
