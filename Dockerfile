# nabla on the CPU: `docker build -t nabla .` then `docker run --rm nabla train mlp --dataset digits`.
# The dependencies are installed in their own layer from pyproject.toml alone, so editing the source
# rebuilds only the last layers. Extras: EXTRAS (default: the data sets, the playground, tune, mpi).
FROM python:3.11-slim-bookworm

ARG EXTRAS=datasets,playground,tune,mpi
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    VIRTUAL_ENV=/opt/nabla \
    PATH=/opt/nabla/bin:$PATH

# The dependency layer: a placeholder package with the real pyproject.toml installs every dependency
# of the chosen extras; it changes only when pyproject.toml does. The versions are pyproject.toml's.
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
# hadolint ignore=DL3013
RUN python -m venv /opt/nabla \
    && mkdir -p src/nabla \
    && touch src/nabla/__init__.py \
    && pip install ".[${EXTRAS}]" \
    && pip uninstall -y nabla \
    && rm -rf src

# The package itself (no dependency resolution: they are all in the layer above).
COPY src ./src
RUN pip install --no-deps . && rm -rf /src/build

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin nabla \
    && install -d -o 10001 -g 10001 /home/nabla/runs  # owned by nabla, so a volume mounted here is too
USER 10001:10001
WORKDIR /home/nabla
EXPOSE 8000
ENTRYPOINT ["nabla"]
CMD ["--help"]
