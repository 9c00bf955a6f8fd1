FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY server ./server
COPY bin ./bin
COPY web ./web
# npm ci runs the prepare script, which compiles the TypeScript; dev dependencies go afterwards.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app ./
ENV MAILROOM_LISTEN=0.0.0.0 NODE_ENV=production
EXPOSE 1025 1110 1143 8025
# Asks GET /api/health on 127.0.0.1 (the port in MAILROOM_HTTP_PORT, else 8025); exit 0 once every listener is up.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s CMD ["node", "bin/mailroom.js", "healthcheck"]
USER node
ENTRYPOINT ["node", "bin/mailroom.js"]
