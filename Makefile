# textmine — the two commands: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    := demo-project

.PHONY: install demo test test-fast bench clean

# Idempotent: re-runs pip only when a lock or pyproject.toml changed. The locks (requirements/*.lock,
# one per purpose, every file's sha256: pip runs in hash-checking mode) come from requirements/compile.py.
install: $(STAMP)

LOCKS   := requirements/runtime.lock requirements/notebook.lock requirements/test.lock

$(STAMP): $(LOCKS) pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (textmine needs Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# one pip call for the three locks (torch's CPU build pinned in runtime.lock)
	$(BIN)/python -m pip install --quiet --require-hashes $(addprefix -r ,$(LOCKS))
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/textmine --config configs/demo.yaml run corpus/demo/vague1 --project $(DEMO) --wave 2022 --metadata corpus/demo/vague1/metadata.csv
	HF_HUB_OFFLINE=1 $(BIN)/textmine --config configs/demo.yaml run corpus/demo/vague2 --project $(DEMO) --wave 2023 --metadata corpus/demo/vague2/metadata.xlsx
	# human calibration: draw 50 segments per wave; the answer key plays the human coder (corpus/demo/_build/key_coder.py)
	HF_HUB_OFFLINE=1 $(BIN)/textmine --project $(DEMO) themes sample --name demo --n 50 --output $(DEMO)/outputs/calibration_sample.xlsx
	HF_HUB_OFFLINE=1 $(BIN)/textmine --project $(DEMO) --quiet themes sample --from-sample demo --output $(DEMO)/outputs/calibration_sample.csv > /dev/null
	$(BIN)/python corpus/demo/_build/key_coder.py --project $(DEMO) $(DEMO)/outputs/calibration_sample.csv $(DEMO)/outputs/calibration_coded.csv
	HF_HUB_OFFLINE=1 $(BIN)/textmine --project $(DEMO) themes calibrate --coded $(DEMO)/outputs/calibration_coded.csv --coder answer_key
	HF_HUB_OFFLINE=1 $(BIN)/textmine --project $(DEMO) --quiet report
	@echo "Results: $(DEMO)/outputs (report.html, quotes.docx, quotes.xlsx, quotes.md, project.qdpx, calibration_sample.xlsx)"

# --durations=15: the slowest tests in every run's output (CI included), so a slow one shows up.
# -n auto: one pytest-xdist worker per core (at most 4); --dist loadfile keeps a file's tests, and
# its module fixtures, on one worker. Each worker builds the session's projects (tests/conftest.py).
XDIST   := -n auto --maxprocesses 4 --dist loadfile
test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q $(XDIST) --durations=15

# the inner loop: everything but the tests marked slow (real models, shared corpora, whole exports)
test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q $(XDIST) -m "not slow" --durations=15

bench: install
	for b in benchmarks/*.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
