# clay-function as a scratch image for Cloud Run.
#
#   docker build -t clay-function .                  # the production image (last stage)
#   docker build --target ci -t clay-function:ci .   # the same plus /clay-harness, for CI
#
# The build stage runs the project's own scripts (the same ones CI and
# developers run), so the image is built exactly like a local build:
# scripts/deps.sh (Debian packages + h2o and curl from Debian sources against
# BoringSSL), CMake, then scripts/rootfs.sh, which collects the stripped
# binaries, the libraries ldd lists (BoringSSL kept in /usr/lib/<arch>/android
# where the binary's RUNPATH looks), the loader, the CA bundle, NSS bits,
# /etc/passwd and /etc/group for uid 65532 and an empty /tmp.
# tests/e2e/rootfs_chroot.sh tests that rootfs without a container engine.
#
# Base images are pinned by digest (dependabot proposes updates); the digests
# are those docker-library/repo-info records for these tags (multi-platform
# indexes). Cloud Run runs linux/amd64: build with --platform linux/amd64 on
# other machines (Apple Silicon). Every image carries its CycloneDX SBOM at
# /usr/share/doc/clay-function/sbom.cdx.json (stage "sbom"); the "sbom-export"
# target writes it out (docker build --target sbom-export -o out .).

FROM debian:bookworm-20260918@sha256:f37a335e82bca302e955fa39f9dfe28f1be618f016f8a2b56318e5a5111afc26 AS build
ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# Dependencies first: this layer is reused until scripts/deps.sh changes.
COPY scripts/deps.sh scripts/deps.sh
RUN DEPS_MINIMAL=1 bash scripts/deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j"$(nproc)" --target clay-function clay-harness \
    && bash scripts/rootfs.sh build /rootfs \
    && bash scripts/rootfs.sh build /rootfs-ci --with-harness

# The SBOM of what the build stage built: scripts/sbom.sh (pinned
# @cyclonedx/cyclonedx-library, which needs Node >= 20) from the manifest
# scripts/deps.sh recorded there, checked against it.
FROM node:22-bookworm-slim@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9 AS sbom
ARG VERSION=0.0.0-dev
WORKDIR /src
COPY scripts/sbom.sh scripts/sbom.js scripts/
COPY --from=build /src/.deps/manifest .deps/manifest
RUN bash scripts/sbom.sh --manifest .deps/manifest --version "$VERSION" --out /sbom/sbom.cdx.json \
    && bash scripts/sbom.sh --check --manifest .deps/manifest --sbom /sbom/sbom.cdx.json

# docker build --target sbom-export -o <dir> .: only the SBOM (for releases).
FROM scratch AS sbom-export
COPY --from=sbom /sbom/sbom.cdx.json /sbom.cdx.json

# CI image: the function plus the harness (fixture replay, scenarios, mock Clay).
FROM scratch AS ci
COPY --from=build /rootfs-ci/ /
COPY --from=sbom /sbom/sbom.cdx.json /usr/share/doc/clay-function/sbom.cdx.json
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/clay-function"]
CMD ["serve"]

# Production image (the default target): only the function.
FROM scratch AS runtime
COPY --from=build /rootfs/ /
COPY --from=sbom /sbom/sbom.cdx.json /usr/share/doc/clay-function/sbom.cdx.json
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/clay-function"]
CMD ["serve"]
