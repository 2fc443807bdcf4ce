# mlpipe image for workers (`mlpipe worker --queues ...`) and the model server (`mlpipe serve ...`).
# docker-compose.yml runs it; any container platform can.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Native modules (better-sqlite3, DuckDB, onnxruntime) ship prebuilt binaries for linux-x64 and
# linux-arm64; the toolchain is only a fallback for platforms without one.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# Dependencies first, in their own layer, so a source change does not reinstall them. The root
# package's `prepare` (a full tsc build) needs the sources, hence --ignore-scripts then rebuild,
# which runs the dependencies' own install steps (native prebuilds). .npmrc keeps onnxruntime-node
# from downloading GPU providers: its CPU build is inside the npm package.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts && npm rebuild
COPY . .
# The tests, benches and examples need devDependencies (mocha, vega-datasets), which prune removes.
RUN npm run build && npm prune --omit=dev && rm -rf dist/test dist/bench dist/examples

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MLPIPE_HOME=/var/lib/mlpipe
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
RUN chmod +x dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/mlpipe \
 && mkdir -p /var/lib/mlpipe && chown node:node /var/lib/mlpipe
USER node
ENTRYPOINT ["mlpipe"]
CMD ["--help"]
