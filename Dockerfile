# syntax=docker/dockerfile:1
# Multi-stage image for the order engine: native parts (librdkafka through
# node-rdkafka, our N-API addon) are compiled in the build stage; the runtime stage
# carries only the runtime libraries, the compiled JS and production node_modules,
# and runs as the unprivileged `node` user. Sized for a 2-core / 2 GiB pod.
# The same image runs the simulators: `node dist/src/sim/main.js` (docker-compose.yml).

ARG NODE_MAJOR=20

FROM node:${NODE_MAJOR}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libssl-dev libsasl2-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc binding.gyp ./
# Native builds run scripts/node-gyp-headers' node-gyp (a file: dependency): the image's
# Node in /usr/local has its headers in /usr/local/include/node, so nothing is downloaded.
COPY scripts/node-gyp-headers ./scripts/node-gyp-headers
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_MAJOR}-bookworm-slim AS runtime
# librdkafka's configure links whatever it finds in the build image: OpenSSL, zlib,
# Cyrus SASL, zstd and libcurl (the build image has libcurl's headers). The check at
# the end of this stage loads every native module, so a library missing here fails
# the build instead of the pod.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libsasl2-2 zlib1g libzstd1 libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/order-engine/state && chown node:node /var/lib/order-engine/state
ENV NODE_ENV=production \
    STATE_DIR=/var/lib/order-engine/state \
    PORT=18282
WORKDIR /app
# binding.gyp marks the package root, where src/native finds the addon's build/.
COPY --from=build /app/package.json /app/binding.gyp ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build/Release/order_engine_native.node ./build/Release/order_engine_native.node
COPY --from=build /app/dist ./dist
COPY scripts/start.sh ./scripts/start.sh
# The migrations are read at start from src/db/migrations (tsc does not copy .sql files).
COPY --from=build /app/src/db/migrations ./src/db/migrations
RUN node --input-type=module -e "await import('node-rdkafka'); await import('@nxtedition/rocksdb'); await import('uWebSockets.js'); await import('./dist/src/native/index.js');"
# Numeric, so that Kubernetes' runAsNonRoot can verify it (uid 1000 is `node`).
USER 1000:1000
EXPOSE 18282
VOLUME ["/var/lib/order-engine/state"]
STOPSIGNAL SIGTERM
# Docker's own check is liveness (the process answers); readiness
# (/actuator/health/readiness) is what Kubernetes and docker-compose.yml gate on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||18282)+'/actuator/health/liveness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# start.sh sizes the kafka thread's heap from the memory budget, then execs node
# (PID 1, which handles SIGTERM: src/service.ts).
CMD ["sh", "scripts/start.sh"]
