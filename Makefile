# The two commands of the README. Both build the pinned environment on first use (tools/setup.sh, cached outside the
# checkout) and are safe to run again.
.PHONY: demo test setup lint

setup:
	@bash tools/setup.sh >/dev/null

demo:
	bash tools/with_env.sh bash tools/demo.sh

test:
	bash tools/with_env.sh ruff check ltplug tools tests benchmarks configs
	bash tools/with_env.sh python -m pytest -q tests

lint:
	bash tools/with_env.sh ruff check ltplug tools tests benchmarks configs
