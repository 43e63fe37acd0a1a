# syntax=docker/dockerfile:1
# jetserve container image, with tensorflow/serving's conventions (deploy/docker/entrypoint.sh):
#   docker build -t jetserve:0.1.0 .
#   docker run -p 8500:8500 -p 8501:8501 -v "$PWD/models/mlp:/models/mlp" -e MODEL_NAME=mlp jetserve:0.1.0 [extra flags]
#
# Stage 1 builds on the full Debian image: the pinned TF wheel (sha256-checked) → deps/libtensorflow,
# the N-API addon (cmake-js), uWebSockets.js from its pinned sources for this Node (cargo fetches
# the uWebSockets crate), dist/ (tsc); then drops dev dependencies. Stage 2 is the slim Node image
# with only what runs, as a non-root user.

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-pip cmake g++ cargo \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/jetserve
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY native ./native
COPY scripts ./scripts
COPY src ./src
COPY models/half_plus_two ./models/half_plus_two
# the wheel and the uWS sources are cached between builds; what the image needs lands in the tree
RUN --mount=type=cache,target=/root/.cache/jetserve --mount=type=cache,target=/root/.cargo/registry \
    node scripts/install.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && test -f build/Release/jetserve_native.node \
 && ls build/uws/uws_linux_x64_*.node

FROM node:${NODE_VERSION}-bookworm-slim
RUN groupadd --system --gid 10001 jetserve \
 && useradd --system --uid 10001 --gid jetserve --home-dir /nonexistent --shell /usr/sbin/nologin jetserve
WORKDIR /opt/jetserve
COPY --from=build /opt/jetserve/package.json ./
COPY --from=build /opt/jetserve/bin ./bin
COPY --from=build /opt/jetserve/dist ./dist
COPY --from=build /opt/jetserve/node_modules ./node_modules
COPY --from=build /opt/jetserve/models ./models
COPY --from=build /opt/jetserve/build/Release/jetserve_native.node ./build/Release/
COPY --from=build /opt/jetserve/build/uws ./build/uws
COPY --from=build /opt/jetserve/deps/libtensorflow/lib ./deps/libtensorflow/lib
COPY deploy/docker/entrypoint.sh /usr/local/bin/jetserve-entrypoint
COPY deploy/docker/healthcheck.mjs ./deploy/healthcheck.mjs
COPY deploy/docker/monitoring.config /etc/jetserve/monitoring.config

ENV MODEL_NAME=model \
    MODEL_BASE_PATH=/models \
    JETSERVE_HOME=/opt/jetserve \
    NODE_ENV=production
RUN mkdir -p /models && chown jetserve:jetserve /models
USER 10001:10001
# gRPC (TF Serving and KServe v2 services), REST (TF Serving /v1, KServe v2 /v2)
EXPOSE 8500 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 CMD ["node", "/opt/jetserve/deploy/healthcheck.mjs"]
ENTRYPOINT ["/usr/local/bin/jetserve-entrypoint"]
