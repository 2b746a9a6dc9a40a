# syntax=docker/dockerfile:1
# The API server image: `docker build -t messenger .`, then run with DATABASE_URL set
# (see docker-compose.yml). Node 20 LTS: the engines field asks for >= 20.19.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# ---- build: every dependency, compile the TypeScript ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change. Every workspace
# named in the root package.json must be present for `npm ci`.
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/testing/package.json packages/testing/
COPY bench/package.json bench/
# --ignore-scripts: the root `prepare` script builds, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
RUN npm run build

# ---- runtime: production dependencies of the server (and core) only, compiled code, no sources ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/testing/package.json packages/testing/
COPY bench/package.json bench/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @messenger/server \
  && npm cache clean --force
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/server/dist packages/server/dist
COPY packages/server/bin packages/server/bin
# msg, for the operator inside a container (`msg users add <name>` on its DATABASE_URL): a bundle
# whose one runtime dependency outside it, PGlite, comes with core.
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY packages/cli/bin packages/cli/bin
# Files stay root-owned and read-only to the process; it runs as the image's unprivileged user.
USER node
ENV PORT=8000 HOST=0.0.0.0
EXPOSE 8000
# No curl in slim images: Node's fetch. /healthz answers while the process serves (not the database).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself (graceful shutdown).
CMD ["node", "packages/server/bin/messenger-server.js"]
