# digit-reader, two images from one file (no TensorFlow in the one that serves):
#   serve, the default: the page and the API under gunicorn, the models run by ONNX Runtime
#     docker build -t digit-reader:serve .
#     docker run --rm -p 5000:5000 digit-reader:serve
#   train: TensorFlow, Keras and the training code; trains into a mounted models folder, and
#   writes the .keras model with the .onnx artifacts that serving runs
#     docker build --target train -t digit-reader:train .
#     docker run --rm -v "$PWD/models:/app/models" -v "$PWD/../shared/data:/app/data:ro" digit-reader:train \
#         ./run_training.sh --data /app/data/mnist.npz --out models/digit_mine.keras
#   then serve what it wrote: docker run --rm -p 5000:5000 -v "$PWD/models:/app/models:ro" digit-reader:serve
# The Python the shipped models were trained and exported with, pinned to its exact release.
FROM python:3.11.7-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=5000 \
    HOME=/tmp

WORKDIR /app

# uid 1000 is the usual first user on a Linux host, so models written to a mounted folder are theirs;
# other hosts can pass --user "$(id -u):$(id -g)".
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /tmp app

# The venv is built with the project's own bootstrap, so that its stamps match and the run_*.sh
# scripts find nothing to install when the container starts.
COPY requirements.txt ./
COPY scripts/bootstrap.sh scripts/
RUN bash -c 'source scripts/bootstrap.sh'


FROM base AS train

ENV MPLCONFIGDIR=/tmp/matplotlib
COPY requirements-train.txt ./
RUN BOOTSTRAP_TRAIN=1 bash -c 'source scripts/bootstrap.sh'
COPY run_training.sh ./
COPY handwriting handwriting
COPY models models
RUN mkdir -p data reports && chown -R 1000:1000 models data reports
USER 1000:1000
CMD ["./run_training.sh", "--help"]


FROM base AS serve

COPY run_app.sh gunicorn.conf.py main.py ./
COPY handwriting/__init__.py handwriting/config.py handwriting/quiet_tensorflow.py handwriting/
COPY handwriting/engine handwriting/engine
COPY handwriting/web handwriting/web
COPY models/*.keras models/*.onnx models/*.json models/
COPY models/lines models/lines
COPY models/turns models/turns
USER 1000:1000

EXPOSE 5000
# Healthy means ready to read: /api/ready answers 503 while the default model cannot be served.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/ready' % os.environ.get('PORT', '5000'), timeout=4)"]
CMD ["./run_app.sh"]
