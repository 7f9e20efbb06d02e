# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=saas.settings.base \
    SECURITY_LOG=-
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home --uid 1000 app && mkdir -p /data/media /data/backups \
    && chown app /data/media /data/backups && chmod 700 /data/backups
USER app
EXPOSE 8000
CMD ["gunicorn", "saas.wsgi:application", "-b", "0.0.0.0:8000", "-w", "3", "--worker-class", "gthread", "--threads", "4"]
