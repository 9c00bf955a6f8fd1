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
HEALTHCHECK --interval=5s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8025/api/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
USER node
ENTRYPOINT ["node", "bin/mailroom.js"]
