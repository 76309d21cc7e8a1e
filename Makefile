# Every target creates/uses its own virtualenv in .venv; nothing else is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Real agent CLIs (pinned) for the contract tests; see scripts/install-agent-clis.sh.
AGENT_CLI_DIR ?= $(CURDIR)/.cache/agent-clis
export AGENT_CLI_DIR

.PHONY: venv lint test test-fast demo bench agent-clis clean complete-tree

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@# Byte-compile our sources now: with PYTHONDONTWRITEBYTECODE set, every start-up
	@# would otherwise recompile them (aio --version must stay fast).
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

agent-clis:
	bash scripts/install-agent-clis.sh "$(AGENT_CLI_DIR)"

test: lint agent-clis
	$(BIN)/pytest -n auto

# In-process tests only: no test starts a process (tests/spawnguard.py enforces it; `process`
# covers real_cli and agent_process), and a quarter of the Hypothesis examples (the `fast`
# profile of tests/conftest.py; `make test` runs them all). FAST_WORKERS=2 to use two cores.
# Bytecode is written (to the git-ignored .cache/pycache) for every pytest process from its
# start: with PYTHONDONTWRITEBYTECODE set, each process and each xdist worker would otherwise
# rewrite the assertions of the pytest plugins it loads before tests/conftest.py can allow
# it (about a second of CPU each). Nothing here starts a process that could inherit it.
FAST_WORKERS ?= auto
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache \
	$(BIN)/pytest -n $(FAST_WORKERS) -m "not process and not slow" --hypothesis-profile=fast

demo: $(STAMP)
	$(BIN)/aio demo

bench: $(STAMP) agent-clis
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

# The command tree tab completion reads without click (cli/complete_tree.py; a test checks it).
complete-tree: $(STAMP)
	$(BIN)/python -c "from ai_orchestrator.cli.complete_tree import write_tree; write_tree()"
