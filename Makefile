# Set-up and everyday commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo lint test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[datasets]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed            ## the main job: train an MLP on the 8x8 digits (<1 min, >=97%), curves in runs/
	$(VENV)/bin/nabla train mlp --dataset digits --force  # a second make demo replaces the first run

lint: $(VENV)/.installed-test       ## ruff with the rules in pyproject.toml ([tool.ruff.lint]); hadolint on the Dockerfiles
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/hadolint Dockerfile Dockerfile.cuda

test: lint                          ## lint, then run the whole test suite (PyTorch is the oracle)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 tests

bench: $(VENV)/.installed-test      ## nabla vs PyTorch on this machine; writes benchmarks/RESULTS.md
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
