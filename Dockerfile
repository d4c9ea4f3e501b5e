# supportbot: `docker build -t supportbot .` then
# `docker run -p 3000:3000 -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… -v $PWD/catalog.toml:/app/catalog.toml \
#    -v supportbot-data:/data supportbot` (the named volume keeps the SQLite database across containers)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SUPPORTBOT_DATABASE_URL=sqlite:////data/supportbot.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY examples ./examples
RUN pip install --no-compile -e . \
    && useradd --system --uid 10001 --home-dir /app supportbot \
    && mkdir /data && chown supportbot /data

USER supportbot
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request; port = os.environ.get('SUPPORTBOT_PORT', '3000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"
CMD ["supportbot", "run"]
