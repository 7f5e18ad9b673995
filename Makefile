# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint demo bench clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "needs $(PY) (or run: make PY=python3 ...)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/photosim gui || { echo; echo "make run: the window did not open (why: the message above), so here is the command-line demo instead."; \
	  $(BIN)/photosim demo; }

demo: $(STAMP)
	$(BIN)/photosim demo

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# The fast layer (about 20 s): tests on small libraries made in the test, no real photo, no network,
# no child process, no window (marked by tests/conftest.py). `make test` runs them with the real ones.
test-fast: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m fast

# The layering contracts of pyproject.toml ([tool.importlinter]; docs/architecture.md), and ruff
# with the limits on a function's size and parameters ([tool.ruff]).
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/index_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
