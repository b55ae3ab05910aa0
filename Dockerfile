# syntax=docker/dockerfile:1
#
# scim-sidecar container image: a stripped release binary on Debian bookworm-slim with only the
# libraries it links (libxmlsec1 with its OpenSSL backend, libxml2, OpenSSL) and CA certificates.
#
#   docker build -t scim-sidecar:0.1.0 .
#   docker run --rm scim-sidecar:0.1.0 version
#   docker run -d -p 8080:8080 -p 127.0.0.1:9090:9090 -v scim-sidecar:/var/lib/scim-sidecar \
#     -e SIDECAR_GRAFANA_URL=http://grafana:3000 -e SIDECAR_GRAFANA_PASSWORD=... \
#     -e SIDECAR_SCIM_TOKEN=... scim-sidecar:0.1.0
#
# Build arguments:
#   BUILD_IMAGE    the Rust toolchain image of the build stage (Debian bookworm, like the runtime)
#   RUNTIME_IMAGE  the runtime base (any Debian bookworm; scripts/build-image.sh passes one it
#                  made with mmdebstrap, since it cannot pull)
#   BINARY_STAGE   "build" (default: compile here) or "prebuilt" (copy the binary PREBUILT names
#                  from the build context, default target/release/scim-sidecar: a binary built
#                  on Debian bookworm, as scripts/build-image.sh does)
#
# The image listens on 0.0.0.0:8080 (public) and 0.0.0.0:9090 (admin) and keeps its SQLite store in
# the volume /var/lib/scim-sidecar, through /etc/scim-sidecar/sidecar.toml (deploy/docker/), not
# through SIDECAR_* variables: the environment wins over any file, so image variables would
# override the listen addresses of every configuration mounted over the default one.

ARG BUILD_IMAGE=docker.io/library/rust:1.85-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
ARG BINARY_STAGE=build

FROM ${BUILD_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# `scim-sidecar version` and scim_sidecar_build_info show it: docker build --build-arg
# SCIM_SIDECAR_COMMIT=$(git rev-parse --short=12 HEAD) . (the context has no .git).
ARG SCIM_SIDECAR_COMMIT=
# The repository's release profile keeps line tables for profiling (99 MB); the image does not
# (about 16 MB stripped).
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin scim-sidecar \
 && install -D -m 0755 target/release/scim-sidecar /out/scim-sidecar

FROM scratch AS prebuilt
ARG PREBUILT=target/release/scim-sidecar
COPY ${PREBUILT} /out/scim-sidecar

FROM ${BINARY_STAGE} AS binary

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libxmlsec1 libxmlsec1-openssl libxml2 libssl3 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --system --gid 10001 scim-sidecar \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/scim-sidecar \
      --shell /usr/sbin/nologin scim-sidecar \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/scim-sidecar
COPY --from=binary /out/scim-sidecar /usr/local/bin/scim-sidecar
COPY deploy/docker/sidecar.toml /etc/scim-sidecar/sidecar.toml
# Fails the build when a library the binary links is missing from the runtime.
RUN /usr/local/bin/scim-sidecar version
ENV SIDECAR_CONFIG=/etc/scim-sidecar/sidecar.toml
USER 10001:10001
WORKDIR /var/lib/scim-sidecar
VOLUME ["/var/lib/scim-sidecar"]
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/scim-sidecar"]
CMD ["serve"]
