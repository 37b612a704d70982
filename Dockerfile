# One image for every fire-ews service; docker-compose.yml picks the command (broker, ingest, rules,
# alerts run, board, simulate). The image runs the compiled JavaScript (dist/, `npm run build`,
# esbuild, about a second): no TypeScript transpiling at every start (bench/startup.ts).
#
#   docker build -t fire-ews:local .
#   docker run --rm fire-ews:local --help

# --- dependencies: production node_modules, native addons compiled here -------------------------
FROM node:20-bookworm-slim AS deps
# better-sqlite3 (and classic-level, under aedes-persistence-level) are native addons: prebuilt
# binaries are used when they match, node-gyp builds them otherwise.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# patches/: fixes to dependencies that `npm ci` applies (postinstall: patch-package); see patches/README.md.
COPY patches ./patches
# --omit=dev keeps esbuild, tsx and patch-package (dependencies), drops typescript and @types/*.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# Chromium prints the daily bulletin to PDF (board); Noto has the Vietnamese glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    EWS_DATA_DIR=/data \
    EWS_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Source (see .dockerignore: no tests, no .git, no .env, no data, no dist).
COPY . .
RUN node --import tsx scripts/build.ts
# /data belongs to the unprivileged user; an empty named volume mounted there inherits this owner.
RUN mkdir -p /data && chown node:node /data
USER node
# 1883 MQTT, 8083 MQTT over WebSocket, 8883 MQTT over TLS, 8090 alerts HTTP, 8080 situation board, 9464 /metrics and /healthz
EXPOSE 1883 8083 8883 8090 8080 9464
ENTRYPOINT ["node", "dist/cli/fire-ews.js"]
CMD ["start"]
