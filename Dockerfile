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

FROM debian:bookworm AS build
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

# CI image: the function plus the harness (fixture replay, scenarios, mock Clay).
FROM scratch AS ci
COPY --from=build /rootfs-ci/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/clay-function"]
CMD ["serve"]

# Production image (the default target): only the function.
FROM scratch AS runtime
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/clay-function"]
CMD ["serve"]
