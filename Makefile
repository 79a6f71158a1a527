# zinfer — low-latency image inference: ZeroMQ model servers behind a Flask/gunicorn web app.
# Every target is a one-liner calling a strict-mode script under scripts/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

##@ Use

.PHONY: run
run: setup models ## Start model server + web app locally with the real models (http://127.0.0.1:8000)
	@scripts/run.sh

.PHONY: monitor
monitor: setup ## Local Prometheus scraping the stack from 'make run', with zinfer's rules loaded
	@scripts/monitor.sh

.PHONY: models
models: setup ## Build the default model repository in models/ offline (no-op when up to date)
	@scripts/build-models.sh

##@ Develop

.PHONY: test
test: setup models ## Install what the tests need, then lint, type-check and run every test
	@scripts/test.sh

.PHONY: bench
bench: setup models ## Benchmark: in-process limit vs through ZeroMQ (and end to end), table in bench-results/
	@scripts/bench.sh

##@ Deploy

.PHONY: images
images: setup ## Build the model-server and web-app container images offline (podman)
	@scripts/images.sh

.PHONY: kind-test
kind-test: setup models ## End-to-end suite on a kind cluster (needs kind, kubectl, docker or podman)
	@scripts/kind-test.sh

.PHONY: chart-docs
chart-docs: setup ## Regenerate the chart's values table, schema settings lists and dashboard copy
	@.venv/bin/python charts/tools/chartdocs.py

##@ Develop (more)

.PHONY: lint
lint: setup ## ruff (lint + format check) and mypy --strict on src/
	@scripts/lint.sh

.PHONY: setup
setup: ## Create .venv with both projects and their test dependencies (quick when done)
	@scripts/setup.sh

.PHONY: clean
clean: ## Remove the virtualenv, caches, built models and benchmark output
	rm -rf .venv .cache models bench-results .pytest_cache .mypy_cache .ruff_cache

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)
