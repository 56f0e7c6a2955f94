# syntax=docker/dockerfile:1
# Multi-stage image for the order engine: native parts (librdkafka through
# node-rdkafka, our N-API addon) are compiled in the build stage; the runtime stage
# carries only the runtime libraries, the compiled JS and production node_modules,
# and runs as the unprivileged `node` user. Sized for a 2-core / 2 GiB pod.

FROM node:20-bookworm AS build
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

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libsasl2-2 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/order-engine/state && chown node:node /var/lib/order-engine/state
ENV NODE_ENV=production \
    STATE_DIR=/var/lib/order-engine/state \
    PORT=18282
WORKDIR /app
COPY --from=build /app/package.json /app/binding.gyp ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build/Release/order_engine_native.node ./build/Release/order_engine_native.node
COPY --from=build /app/dist ./dist
COPY scripts/start.sh ./scripts/start.sh
COPY --from=build /app/src/db/migrations ./src/db/migrations
USER node
EXPOSE 18282
VOLUME ["/var/lib/order-engine/state"]
STOPSIGNAL SIGTERM
# Kubernetes probes: /actuator/health/liveness and /actuator/health/readiness.
HEALTHCHECK --interval=10s --timeout=2s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||18282)+'/actuator/health/liveness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["sh", "scripts/start.sh"]
