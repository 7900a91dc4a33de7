# NQO1 CDS service image. Build: docker build -t nqo1-cds . ; run: docker run -p 8080:8080 nqo1-cds
# Stage 1 compiles TypeScript and the native SQLite binding; stage 2 keeps only production files.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY cds-services ./cds-services
COPY config ./config
# `npm ci` runs `prepare`, which also compiles the SMART app and copies the fhirclient browser build
# into dist/smart-app with scripts/smart-app-vendor.ts.
COPY smart-app ./smart-app
COPY scripts ./scripts
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production NQO1_HOST=0.0.0.0
WORKDIR /app
# Fonts for the PNG pictures of `nqo1-cds evaluate`, Latin and Chinese.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY smart-app/public ./smart-app/public
RUN mkdir -p /app/.nqo1 && chown node:node /app/.nqo1
USER node
EXPOSE 8080
# Liveness only: /healthz answers from the process alone. Orchestrators that route traffic should
# probe /readyz, which also checks the store, the queue, the PACS and the FHIR server.
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:' + (process.env.NQO1_SERVER_PORT || process.env.NQO1_PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "bin/nqo1-cds.js", "serve"]
