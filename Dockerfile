# digital-workflow-coder: one image for the api (`dwcoder serve`), the Celery worker and beat, and the migration step.
#   docker build -t digital-workflow-coder:0.1.0 .
# Multi-stage: the build stage installs the package and its dependencies into a virtualenv; the runtime stage
# copies only that virtualenv, the code sets (mappings/) and the Celery app (workers/), and runs as a non-root user.
# The build context is an allowlist (.dockerignore): no tests, .git, .venv, node_modules, .env or keys.
# The base is pinned by exact tag; pin it by digest for a release: `docker buildx imagetools inspect <tag>`,
# then PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml ./
COPY plugin ./plugin
RUN /opt/venv/bin/pip install --no-compile . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 dwcoder \
 && useradd --system --uid 10001 --gid dwcoder --no-create-home --home-dir /var/lib/dwcoder --shell /usr/sbin/nologin dwcoder \
 && mkdir -p /var/lib/dwcoder \
 && chown 10001:10001 /var/lib/dwcoder
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY mappings ./mappings
COPY workers ./workers
RUN python -m compileall -q /app/workers
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DWCODER_CODE_SETS=/app/mappings \
    DWCODER_HOME=/var/lib/dwcoder \
    DWCODER_HOST=0.0.0.0 \
    DWCODER_PORT=8000
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["dwcoder", "health", "--url", "http://127.0.0.1:8000/healthz"]
CMD ["dwcoder", "serve"]
