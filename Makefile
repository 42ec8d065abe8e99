# The two commands of the README. Each builds the environment it needs on first use (tools/setup.sh, cached outside
# the checkout, keyed by the versions) and is safe to run again:
#   make demo : the classification-only environment (no compiler: mmcv-lite), a few minutes on a fresh machine;
#   make test : the full pinned stack (mmcv compiled with its ops, mmseg, mmdet), what CI runs.
# `make setup STACK=cls|full|onedl` only builds an environment; `make test STACK=onedl` runs the suite on the OneDL forks.
.PHONY: demo test setup lint
STACK ?= full

setup:
	@bash tools/setup.sh --stack $(STACK) >/dev/null

demo:
	bash tools/with_env.sh --stack cls bash tools/demo.sh

test:
	bash tools/with_env.sh --stack $(STACK) ruff check ltplug tools tests benchmarks configs
	bash tools/with_env.sh --stack $(STACK) python -m pytest -q tests

lint:
	bash tools/with_env.sh --stack $(STACK) ruff check ltplug tools tests benchmarks configs
