# syntax=docker/dockerfile:1
# One image for every tether process; the command picks the role (docker-compose.yml shows all four):
#   node dist/main/api.js                      HTTP API (default)
#   node dist/main/worker.js                   Temporal worker
#   npx --no-install prisma migrate deploy     database migrations (one-shot)
#   node dist/simulators/main.js               vendor simulators (demo only)
# Install scripts are skipped (--ignore-scripts): none is needed, the Prisma client is generated below.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, Prisma client, TypeScript -> dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# NODE_ENV=production: refuses to start without TETHER_ENCRYPTION_KEYS (no local key fallback).
# CHECKPOINT_DISABLE: no update checks from the Prisma CLI.
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    HOST=0.0.0.0 \
    PORT=3000
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The Prisma CLI (migrate deploy) loads prisma.config.ts itself, which imports the migration adapter
# from source; the schema and migrations come along.
COPY package.json prisma.config.ts ./
COPY prisma/schema.prisma prisma/migration-adapter.ts ./prisma/
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 3000
CMD ["node", "dist/main/api.js"]
