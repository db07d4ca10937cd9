# digit-reader: the page and the API under gunicorn; the same image trains the model.
#   docker build -t digit-reader .
#   docker run --rm -v "$PWD/models:/app/models" -v "$PWD/data:/app/data" digit-reader \
#       ./run_training.sh --epochs 5 --data /app/data/mnist.npz
#   docker run -p 5000:5000 -v "$PWD/models:/app/models" digit-reader
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOST=0.0.0.0 \
    PORT=5000

WORKDIR /app

# The venv is built here with the project's own bootstrap, so that its stamp matches and the
# run_*.sh scripts find nothing to install when the container starts.
COPY requirements.txt ./
COPY scripts/bootstrap.sh scripts/
RUN bash -c 'source scripts/bootstrap.sh'

COPY . .
# uid 1000 is the usual first user on a Linux host, so models written to a mounted folder are theirs;
# other hosts can pass --user "$(id -u):$(id -g)".
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /tmp app \
    && mkdir -p models data reports \
    && chown 1000:1000 models data reports
ENV HOME=/tmp
USER 1000:1000

EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('PORT', '5000'), timeout=4)"]
CMD ["./run_app.sh"]
