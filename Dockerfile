# syntax=docker/dockerfile:1
# Zeebe restore agent: bin/restore on Node.js 22 LTS, production dependencies only, non-root.
#
#   docker build -t zeebe-restore-agent .
#   docker run --rm -v zeebe-data:/usr/local/zeebe/data -v "$PWD/application.yaml:/usr/local/zeebe/config/application.yaml:ro" \
#     -e ZEEBE_BROKER_CLUSTER_NODEID=0 zeebe-restore-agent --backupId=1763683200000
#
# Like the Zeebe image it runs as uid/gid 1001 in /usr/local/zeebe, so a broker's mounted
# config/application.yaml and data volume work unchanged, and it also takes the Zeebe image's
# restore variables: ZEEBE_RESTORE_FROM_BACKUP_ID=<id> instead of --backupId (see README, "Docker").
# It answers as `restore` on the PATH and at /usr/local/camunda/bin/restore and /usr/local/zeebe/bin/restore.
ARG NODE_IMAGE=node:22-bookworm-slim

# Compiles TypeScript with the locked dev dependencies. No install scripts: nothing the build needs
# has one, and the npm `node` package (Node 22 for hosts) is not needed on a Node 22 image.
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.json && cp src/topology/topology.proto dist/topology/

# The locked production dependencies alone. Install scripts stay off but for zstd-napi's, which
# compiles libzstd's Node-API binding (zstd decoding in worker threads, see README): the compilers
# live in this stage only, and node-gyp uses the image's own Node headers instead of downloading.
FROM ${NODE_IMAGE} AS production-dependencies
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm rebuild zstd-napi --foreground-scripts

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="zeebe-restore-agent" \
      org.opencontainers.image.description="Restores a Camunda Zeebe broker node's data directory from a backup (S3, GCS, Azure, filesystem) before the broker starts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production \
    PATH=/opt/zeebe-restore/bin:$PATH
# The Zeebe image's user and group (1001:1001), so restored files belong to the broker's user.
RUN groupadd --gid 1001 camunda \
    && useradd --system --uid 1001 --gid 1001 --home-dir /usr/local/zeebe --no-create-home --shell /usr/sbin/nologin camunda
WORKDIR /opt/zeebe-restore
COPY --from=production-dependencies /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json README.md ./
COPY bin ./bin
# Where the Camunda and Zeebe images answer: a chart's `command: [/usr/local/camunda/bin/restore]` works unchanged.
COPY --chmod=755 docker/restore-in-home /usr/local/camunda/bin/restore
COPY --chmod=755 docker/restore-in-home /usr/local/zeebe/bin/restore
# The broker's working directory: config/application.yaml and the relative data directory `data`
# are read from here. It is not writable, so a data volume that was not mounted fails with exit
# code 7 instead of a restore into the container's throw-away file system.
WORKDIR /usr/local/zeebe
USER 1001:1001
ENTRYPOINT ["/opt/zeebe-restore/bin/restore"]
