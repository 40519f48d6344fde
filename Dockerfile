# syntax=docker/dockerfile:1
# release-controller image: `docker build -t release-controller:0.1.0 .` (docs/deploy.md).
# Three stages on the same Node 24 LTS base: build (all dependencies, tsc to dist/), deps
# (production dependencies only) and the runtime, which holds dist/, those node_modules and
# package.json. The base names its Debian release (trixie, the current stable) rather than plain
# -slim, whose Debian release changes under the same Node.js version. Whoever publishes the image
# should pin the base by digest (node:24.21.0-trixie-slim@sha256:...). `npm run image:test` builds
# this file with buildah against a local copy of the base (scripts/image-base.sh reads the versions
# from the line below) and runs the result.
ARG NODE_IMAGE=node:24.21.0-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts also skips the install script of the `node` development dependency (the project's
# own Node.js for checkouts): the build runs on the base's Node.js, the same release.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build also copies the web view of `kubectl release ui` (src/plugin/ui/static) into dist/.
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="release-controller" \
      org.opencontainers.image.description="Kubernetes controller for OpenChoreo's Release resource" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module", which Node needs to load dist/ as ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The chart runs it as 65532 too (runAsNonRoot needs a numeric user); nothing here is writable by it.
USER 65532:65532
EXPOSE 8080 8081
# --max-semi-space-size=1 caps V8's young generation at 2 MiB (V8's default is 32): at 1000
# Releases peak RSS 128 -> 120 MiB and idle 84 -> 78 MiB, for about 11% more controller CPU while
# converging, which the API servers bound anyway. --heap-growing-percent=20 lets the old generation
# grow to 1.2x what survived the last full collection (V8 allows up to 4x): the peak while
# converging is garbage, not live objects (docs/performance.md, "Node flags"). This line is the one
# source of these flags: the bench reads them from here, npm start passes the same ones
# (src/launch.test.ts).
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=20", "dist/main.js"]
