# syntax=docker/dockerfile:1
# The gateway image: built in one stage, run from a slim one with production dependencies only,
# as the unprivileged `node` user. Node's current LTS line; the code also runs on Node 20.
# It writes nothing at run time: docker-compose.yml runs it with a read-only root file system.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    GATEWAY_CONFIG=/app/config/gateway.production.yaml \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# Example config only; docker-compose.yml mounts the operator's config over it.
COPY config ./config
# The nginx template, for `node dist/src/cli.js render-nginx` (a host's nginx config from the image).
COPY nginx ./nginx
USER node
EXPOSE 3000
# /healthz answers 200 only while the session store answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
