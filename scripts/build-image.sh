#!/usr/bin/env bash
# Builds the container image from the repository's Dockerfile without pulling anything, and runs
# it: the image's binary must answer `version` and serve /healthz (and /readyz in front of the
# Grafana emulator).
#
#   bash scripts/build-image.sh                 # build and test; prints what it proved
#   IMAGE=scim-sidecar:dev bash scripts/build-image.sh
#   PREBUILT_BIN=target/image/scim-sidecar bash scripts/build-image.sh   # reuse a built binary
#
# No registry is reachable here, so:
# - the runtime base is made from Debian packages with mmdebstrap (bookworm, minbase variant,
#   like debian:bookworm-slim) and imported into podman as localhost/debian:bookworm-slim;
# - the binary is built on this (Debian bookworm) host with `cargo build --release`, stripped
#   into target/image/, and copied by the Dockerfile's "prebuilt" stage (BINARY_STAGE=prebuilt)
#   instead of compiling in a rust image;
# - the Dockerfile's runtime stage runs unchanged (apt-get installs the runtime libraries from
#   Debian, with the build sharing the host's network).
# Where podman cannot run containers (no user namespaces, no overlay or cgroups inside another
# container), the script says why and falls back to testing the same runtime file system in a
# chroot: the mmdebstrap root with the Dockerfile's runtime packages, user and files, running
# the binary as uid 10001.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=${IMAGE:-scim-sidecar:0.1.0}
BASE=localhost/debian:bookworm-slim
WORK=${WORK:-$ROOT/target/image}
RUNTIME_PACKAGES="ca-certificates libxmlsec1 libxmlsec1-openssl libxml2 libssl3"
mkdir -p "$WORK"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

need=()
for tool in mmdebstrap podman curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" uidmap fuse-overlayfs slirp4netns >/dev/null
fi

if [ -n "${PREBUILT_BIN:-}" ]; then
  # A binary built earlier on this host (Debian bookworm), e.g. by a previous run.
  log "binary: $PREBUILT_BIN, stripped into $WORK/scim-sidecar"
  [ "$(realpath "$PREBUILT_BIN")" = "$(realpath -m "$WORK/scim-sidecar")" ] || cp "$PREBUILT_BIN" "$WORK/scim-sidecar"
else
  log "binary: cargo build --release, stripped into $WORK/scim-sidecar"
  SCIM_SIDECAR_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
  export SCIM_SIDECAR_COMMIT
  cargo build --release --locked --bin scim-sidecar
  cp target/release/scim-sidecar "$WORK/scim-sidecar"
  ls -l target/release/scim-sidecar | awk '{printf "  %s %.1f MB\n", $9, $5/1048576}'
fi
strip "$WORK/scim-sidecar"
ls -l "$WORK/scim-sidecar" | awk '{printf "  %s %.1f MB (stripped)\n", $9, $5/1048576}'

log "base: mmdebstrap bookworm (minbase, slimmed like debian:bookworm-slim) → $WORK/rootfs-slim.tar"
if [ ! -s "$WORK/rootfs-slim.tar" ]; then
  # As the official slim images: no manuals, documentation (but copyrights) or translations,
  # also for packages installed later (mmdebstrap keeps the dpkg options in the image), and no
  # apt caches.
  mmdebstrap --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
    bookworm "$WORK/rootfs-slim.tar.tmp"
  mv "$WORK/rootfs-slim.tar.tmp" "$WORK/rootfs-slim.tar"
fi
ROOTFS=$WORK/rootfs-slim.tar
ls -l "$ROOTFS" | awk '{printf "  %.1f MB\n", $5/1048576}'

# The Emulator stands in for Grafana in the runs below.
EMULATOR=$(ls target/debug/examples/grafana-emulator target/release/examples/grafana-emulator 2>/dev/null | head -n1 || true)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
start_emulator() {
  [ -n "$EMULATOR" ] || return 0
  GPORT=$(free_port)
  "$EMULATOR" --listen "127.0.0.1:$GPORT" >"$WORK/emulator.log" 2>&1 & pids+=($!)
  wait_http "http://127.0.0.1:$GPORT/api/health" || true
}

# Inside a container without CAP_SYS_RESOURCE (as here), runc cannot raise a container's
# RLIMIT_NOFILE / RLIMIT_NPROC to podman's defaults ("error setting rlimit type 7: operation not
# permitted"): ask for limits at or below this shell's.
ULIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")
podman_ok=1
log "podman: import the base, build the Dockerfile, run the image"
if ! podman import "$ROOTFS" "$BASE" >"$WORK/podman.log" 2>&1; then
  podman_ok=0
fi
if [ $podman_ok = 1 ] && ! podman build --network=host "${ULIMITS[@]}" \
    --build-arg RUNTIME_IMAGE="$BASE" --build-arg BINARY_STAGE=prebuilt \
    --build-arg PREBUILT="${WORK#"$ROOT"/}/scim-sidecar" \
    -t "$IMAGE" -f Dockerfile . >>"$WORK/podman.log" 2>&1; then
  podman_ok=0
fi
if [ $podman_ok = 1 ]; then
  podman image ls "$IMAGE"
  podman image inspect "$IMAGE" --format '  user {{.Config.User}}, ports {{.Config.ExposedPorts}}, volumes {{.Config.Volumes}}, entrypoint {{.Config.Entrypoint}} {{.Config.Cmd}}'
  echo "  \$ podman run --rm $IMAGE version"
  if out=$(podman run --rm --network=host "${ULIMITS[@]}" "$IMAGE" version 2>>"$WORK/podman.log"); then
    echo "  $out"
    start_emulator
    PPORT=$(free_port); APORT=$(free_port)
    podman rm -f scim-sidecar-image-test >/dev/null 2>&1 || true
    podman run -d --name scim-sidecar-image-test --network=host "${ULIMITS[@]}" \
      -e SIDECAR_SERVER_LISTEN="127.0.0.1:$PPORT" -e SIDECAR_ADMIN_LISTEN="127.0.0.1:$APORT" \
      -e SIDECAR_GRAFANA_URL="http://127.0.0.1:${GPORT:-3000}" \
      "$IMAGE" >/dev/null
    if wait_http "http://127.0.0.1:$APORT/healthz"; then
      echo "  /healthz: $(curl -s "http://127.0.0.1:$APORT/healthz")"
      echo "  /readyz:  $(curl -s "http://127.0.0.1:$APORT/readyz")"
    else
      podman logs scim-sidecar-image-test || true
      podman rm -f scim-sidecar-image-test >/dev/null || true
      echo "the image's sidecar did not serve /healthz" >&2
      exit 1
    fi
    podman rm -f scim-sidecar-image-test >/dev/null
    log "image built and run with podman"
    exit 0
  fi
  podman_ok=0
fi

log "podman cannot run containers here; its last error:"
grep -iE 'error|denied|not permitted|cannot' "$WORK/podman.log" | tail -n 5 | sed 's/^/  /'

log "fallback: the runtime file system in a chroot"
[ "$(id -u)" -eq 0 ] || { echo "the chroot fallback needs root" >&2; exit 1; }
CHROOT="$WORK/chroot"
as_root rm -rf "$CHROOT"
mkdir -p "$CHROOT"
as_root tar -xf "$ROOTFS" -C "$CHROOT"
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
as_root mount -t proc proc "$CHROOT/proc"
trap 'cleanup; as_root umount "$CHROOT/proc" 2>/dev/null || true' EXIT
# The Dockerfile's runtime stage, step by step.
as_root chroot "$CHROOT" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $RUNTIME_PACKAGES >/dev/null && rm -rf /var/lib/apt/lists/*"
as_root chroot "$CHROOT" sh -c 'groupadd --system --gid 10001 scim-sidecar && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/scim-sidecar --shell /usr/sbin/nologin scim-sidecar && install -d -o 10001 -g 10001 -m 0750 /var/lib/scim-sidecar'
install -D -m 0755 "$WORK/scim-sidecar" "$CHROOT/usr/local/bin/scim-sidecar"
install -D -m 0644 deploy/docker/sidecar.toml "$CHROOT/etc/scim-sidecar/sidecar.toml"
echo "  runtime packages: $(as_root chroot "$CHROOT" dpkg-query -W -f '${Package} ' $RUNTIME_PACKAGES)"
echo "  root file system: $(du -sh "$CHROOT" --exclude=proc | cut -f1)"
echo "  \$ chroot --userspec=10001:10001 … scim-sidecar version"
echo "  $(as_root chroot --userspec=10001:10001 "$CHROOT" /usr/local/bin/scim-sidecar version)"
start_emulator
PPORT=$(free_port); APORT=$(free_port)
chroot --userspec=10001:10001 "$CHROOT" env SIDECAR_CONFIG=/etc/scim-sidecar/sidecar.toml \
  SIDECAR_SERVER_LISTEN="127.0.0.1:$PPORT" SIDECAR_ADMIN_LISTEN="127.0.0.1:$APORT" \
  SIDECAR_GRAFANA_URL="http://127.0.0.1:${GPORT:-3000}" \
  sh -c 'cd /var/lib/scim-sidecar && exec /usr/local/bin/scim-sidecar serve' >"$WORK/chroot-sidecar.log" 2>&1 & pids+=($!)
if wait_http "http://127.0.0.1:$APORT/healthz"; then
  echo "  /healthz: $(curl -s "http://127.0.0.1:$APORT/healthz")"
  echo "  /readyz:  $(curl -s "http://127.0.0.1:$APORT/readyz")"
  echo "  store:    $(ls -l "$CHROOT/var/lib/scim-sidecar" | tail -n +2 | awk '{print $3":"$4, $9}' | tr '\n' ' ')"
else
  cat "$WORK/chroot-sidecar.log" >&2
  echo "the sidecar did not serve /healthz in the chroot" >&2
  exit 1
fi
log "runtime file system tested in a chroot (podman could not run containers)"
