# The image tools/k8s-indexed-job.yaml runs (onnxtransfer:latest): the onnxtransfer CLI on PATH as the entry
# point, with the template's backbone already in the image's cache so pods need no network.
#
#   docker build -t onnxtransfer:latest .                      # from the repository root
#   docker build --build-arg BACKBONES="mobilenetv2-12-int8 resnet50-v1-12" -t onnxtransfer:latest .
#   docker tag onnxtransfer:latest REGISTRY/onnxtransfer:latest && docker push REGISTRY/onnxtransfer:latest
#
# Not built in this repository's tests (no container runtime there); the tests check that the Job template,
# this image and tools/slurm-array.sh agree (tests/OnnxTransfer.Tests/ScaleOut).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/OnnxTransfer.Cli/OnnxTransfer.Cli.csproj -c Release -o /opt/onnxtransfer \
      -p:OnnxRuntimeFlavor=Cpu -nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0
# SkiaSharp (image decoding) loads fontconfig and freetype.
RUN apt-get update && apt-get install -y --no-install-recommends libfontconfig1 libfreetype6 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/onnxtransfer /opt/onnxtransfer
# exec: dotnet becomes the container's main process, so the SIGTERM of an eviction or `kubectl delete` reaches
# the CLI, which keeps its rows (exit 143) and resumes when the Job retries the index.
RUN printf '#!/bin/sh\nexec dotnet /opt/onnxtransfer/OnnxTransfer.Cli.dll "$@"\n' >/usr/local/bin/onnxtransfer \
    && chmod 755 /usr/local/bin/onnxtransfer
ENV ONNXTRANSFER_HOME=/opt/onnxtransfer-cache
ARG BACKBONES=mobilenetv2-12-int8
RUN for b in $BACKBONES; do onnxtransfer pull "$b"; done && chmod -R a+rX "$ONNXTRANSFER_HOME"
WORKDIR /work
ENTRYPOINT ["onnxtransfer"]
CMD ["--help"]
