# syntax=docker/dockerfile:1
# Restore agent image: bin/restore on Node.js 22 LTS, production dependencies only, non-root.
FROM node:22-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json tsconfig.json ./
# No install scripts: the image's own Node 22 replaces the npm `node` package used on hosts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/zeebe-restore
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json README.md ./
COPY bin ./bin
USER node
# Like the Zeebe image: config/application.yaml is read relative to the working directory.
WORKDIR /usr/local/zeebe
ENTRYPOINT ["/opt/zeebe-restore/bin/restore"]
CMD ["--help"]
