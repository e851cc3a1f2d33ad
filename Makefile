# The two commands the README gives: `make demo` and `make test`. Both set up what they need.
PY := .venv/bin/python

.PHONY: setup sample demo test lint bench

setup:
	@bash scripts/setup.sh

sample: setup
	$(PY) -m samples.make_sample

demo: sample
	.venv/bin/localize run samples/job.yaml --force --profile fast

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy localize model samples

test: lint
	$(PY) -m pytest -q

bench: sample
	$(PY) -m bench.bench_render
	$(PY) -m bench.bench_analysis
	$(PY) -m bench.bench_model
	$(PY) -m bench.bench_dub
