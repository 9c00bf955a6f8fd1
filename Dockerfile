FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY server ./server
COPY bin ./bin
COPY web ./web
COPY scripts ./scripts
# npm ci runs the prepare script, which compiles the TypeScript; dev dependencies go afterwards.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app ./
# The ready file tells the health check (and `mailroom wait`/`send` run in the container) where the
# API is, even when ports are given as arguments to the container rather than as variables.
ENV MAILROOM_LISTEN=0.0.0.0 NODE_ENV=production MAILROOM_READY_FILE=/tmp/mailroom-ready.json
EXPOSE 1025 1110 1143 8025
# Asks GET /api/health at the address in the ready file; exit 0 once every listener is up.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s CMD ["node", "bin/mailroom.js", "healthcheck"]
# A place for --data-dir /data that the node user may write: a named volume mounted there takes its owner.
RUN mkdir /data && chown node:node /data
USER node
ENTRYPOINT ["node", "bin/mailroom.js"]
