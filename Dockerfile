# Stoplist's container image.
#
#   docker build -t stoplist .
#   docker run -p 8000:8000 -e STOPLIST_DATABASE_URL=postgresql://user:pass@host:5432/db stoplist
#
# docker-compose.yml runs it with PostgreSQL, a one-shot migration and separate workers.
#
# Layout: the project sits at /app as it does in the repository (/app/src/stoplist,
# /app/migrations, /app/alembic.ini), because stoplist/migrate.py finds Alembic's files two
# directories above the package. The virtualenv /opt/venv holds the runtime dependencies
# (not the test or bench extras) and an editable install of the project: a .pth file that
# puts /app/src on sys.path, and the `stoplist` command. Both stages use the same base
# image, so the venv's absolute paths (/usr/local/bin/python3.11, /app/src) hold in both:
# change the two FROM lines together. The tag names the Python patch release and the
# Debian release, so a rebuild does not silently move to another of either.

# ---- builder: resolve and install the runtime dependencies into /opt/venv ----
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

COPY pyproject.toml README.md ./

# A placeholder package is all pip needs to install the project's dependencies and the
# editable hook, so this layer is rebuilt only when pyproject.toml (or README.md, which
# is part of the metadata) changes, not on every code change. The real src/ is copied
# into the runtime stage, where the hook points. Every dependency ships manylinux wheels
# (psycopg[binary], uvloop, httptools), so no compiler and no apt packages are needed.
RUN python -m venv /opt/venv \
    && mkdir -p src/stoplist \
    && touch src/stoplist/__init__.py \
    && /opt/venv/bin/pip install --no-cache-dir --editable .

# ---- runtime: the venv, the source, the migrations, and nothing else ----
FROM python:3.11.14-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# An unprivileged user with fixed ids (10001), so volumes and Kubernetes'
# runAsNonRoot can rely on them. /app/var is the only writable place under /app: the
# default SQLite database (sqlite:///var/stoplist.db, relative to /app) lives there when
# STOPLIST_DATABASE_URL is not set.
RUN groupadd --system --gid 10001 stoplist \
    && useradd --system --uid 10001 --gid stoplist --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin stoplist \
    && mkdir -p /app/var \
    && chown stoplist:stoplist /app/var

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY src ./src

# Fail the build, not the first `stoplist migrate`, if Alembic's files are not where
# stoplist/migrate.py looks for them: this reads every revision without a database.
RUN python -c "from stoplist import migrate as m; assert (m.ROOT / 'alembic.ini').is_file(), m.ROOT; assert m.head_revision('sqlite://'), m.ROOT"

USER 10001:10001

EXPOSE 8000

# Liveness: GET /healthz on the port the default command serves on. urlopen raises on a
# refused connection, a timeout or any non-2xx answer, so the command exits non-zero.
# (The worker and migrate services of docker-compose.yml serve no HTTP and disable it.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `serve` migrates the database first, then serves the API with an in-process job worker
# (STOPLIST_SERVE_WORKER=false to run workers separately, as docker-compose.yml does).
CMD ["stoplist", "serve", "--host", "0.0.0.0", "--port", "8000"]
