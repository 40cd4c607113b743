# Production image: gunicorn (sync workers) for the API, the same image runs the Celery
# worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 VERIFY_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app verify
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs no database or real secrets; the deploy check at start-up does.
RUN DEBUG=false python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/var && chown -R verify /app/var
USER verify

EXPOSE 8000
CMD ["sh", "-c", "python manage.py check --deploy --fail-level ERROR && python manage.py migrate --noinput && exec gunicorn verify_platform.wsgi:application --config gunicorn.conf.py"]
