PY := .venv/bin/python

.PHONY: demo test setup bench
demo: setup  ## the main job: a small real NAS experiment, end to end
	$(PY) examples/quickstart.py

test: setup  ## the whole test suite
	$(PY) -m pytest -q

setup:
	@bash scripts/setup.sh

bench: setup
	$(PY) -m benchmarks all
