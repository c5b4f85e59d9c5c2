# Nebh-X: one image for the API, workers and agents.
FROM node:20-bookworm-slim AS editor
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends haproxy btrfs-progs iproute2 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend/ backend/
COPY blocks/ blocks/
COPY examples/ examples/
RUN pip install --no-cache-dir -e .
COPY --from=editor /src/frontend/dist frontend/dist
ENV NEBHX_HOME=/var/lib/nebhx NEBHX_HOST=0.0.0.0
EXPOSE 8750
CMD ["nebhx", "up"]
