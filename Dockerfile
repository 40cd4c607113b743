# Production image: gunicorn (sync workers) for the API; the same image runs the one-shot
# migration, the Celery worker and beat (docker-compose.yml builds it once and tags it).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 VERIFY_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app verify
# Runtime dependencies only: `make run`'s embedded PostgreSQL (requirements-run.txt) and the
# test tools (requirements-dev.txt) stay out of the image.
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs no database or real secrets; the checks at start-up do.
RUN DEBUG=false python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/var && chown -R verify /app/var
USER verify

EXPOSE 8000
# Migrations are the compose file's `migrate` service (once, whatever the number of web
# containers). gunicorn itself refuses to start on a missing, public or malformed secret
# (gunicorn.conf.py's on_starting hook); `check --deploy` adds Django's own deploy checks
# and the channel and mail-backend checks.
CMD ["sh", "-c", "python manage.py check --deploy --fail-level ERROR && exec gunicorn verify_platform.wsgi:application --config gunicorn.conf.py"]
