# pixelgen: batch generation of pixel-art assets on one NVIDIA GPU.
#
# x86-64 (H100/H200), the default base:
#   docker build -t pixelgen .
# ARM64 (DGX Spark GB10) or any host, on NVIDIA's multi-arch NGC image (CUDA 13.1):
#   docker build --build-arg BASE_IMAGE=nvcr.io/nvidia/pytorch:25.12-py3 -t pixelgen .
#
# Run read-only, as the image's non-root user; everything written goes to volumes:
#   docker run --rm --gpus all --read-only --tmpfs /tmp \
#     -v pixelgen-data:/data -v "$PWD":/work pixelgen build manifests/demo.yaml
#
# See docs/hardware.md for why there are two bases and how to pin them by digest.
ARG BASE_IMAGE=pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="pixelgen" \
      org.opencontainers.image.description="Declarative, content-addressed pixel-art generation with Stable Diffusion XL" \
      org.opencontainers.image.licenses="MIT"

# Nothing is written into the image at run time: bytecode is compiled at
# install, and every cache (Hugging Face, pixelgen, torch, matplotlib) points
# at the /data volume or the /tmp tmpfs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    HF_HOME=/data/huggingface \
    PIXELGEN_CACHE=/data/pixelgen-cache \
    XDG_CACHE_HOME=/data/xdg-cache \
    TORCH_HOME=/data/torch \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/pixelgen
COPY pyproject.toml README.md ./
COPY pixelgen ./pixelgen

# torch comes from the base image (pyproject leaves it unpinned on purpose, so
# pip keeps the base's CUDA build); the gpu extra adds nvidia-ml-py for NVML.
# DL3013 asks for `pkg==version`: this installs the project itself, whose
# dependency ranges live in pyproject.toml.
# hadolint ignore=DL3013
RUN python -m pip install --no-cache-dir ".[gpu]" \
 && python -c "import pixelgen, torch; print('pixelgen', pixelgen.__version__, 'torch', torch.__version__, 'cuda', torch.version.cuda)" \
 && groupadd --system --gid 10001 pixelgen \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pixelgen \
 && mkdir -p /data /work \
 && chown 10001:10001 /data /work

# /data: model weights (HF_HOME) and pixelgen's cache; /work: the project
# (manifests in, assets out). A named volume inherits /data's ownership.
VOLUME ["/data"]
WORKDIR /work
USER 10001:10001

# No HEALTHCHECK: pixelgen is a batch command that exits, not a service.
ENTRYPOINT ["pixelgen"]
CMD ["--help"]
