# The Shelf service and its indexer (docker-compose.yml runs both from this image).
# node:20-bookworm carries the C++ toolchain the native addons (better-sqlite3, hnswlib-node)
# build with.
FROM node:20-bookworm
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# .npmrc points node-gyp at Debian's Node headers (nodedir=/usr); this image has Node in /usr/local.
# Dev dependencies stay: the service runs TypeScript through tsx.
RUN npm ci --nodedir=/usr/local
COPY . .
ENV SHELF_HOST=0.0.0.0 \
    PORT=8080 \
    SHELF_DATA_DIR=/data
EXPOSE 8080
CMD ["npm", "run", "serve"]
