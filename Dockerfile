# Production image: gunicorn serving Django, static files by whitenoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 1000 cadcam
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=cadcam:cadcam . .

# collectstatic only reads settings; these placeholder values never reach a running container.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER cadcam
EXPOSE 8000
CMD ["gunicorn", "cadcam.wsgi"]
