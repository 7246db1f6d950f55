# statechat: the README's commands. `make test` and `make run` set everything up themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BANK_PORT ?= 8081
PORT ?= 8080
STORE ?= sqlite:///statechat.db

.PHONY: venv run chat test lint bench clean

$(VENV)/.installed: setup.cfg pyproject.toml plugins_examples/statechat-banking/setup.cfg plugins_examples/statechat-audit/setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' \
		-e plugins_examples/statechat-banking -e plugins_examples/statechat-audit
	touch $@

venv: $(VENV)/.installed

# The demo: the mock core bank on loopback plus the demo bot on the embedded SQLite store.
run: venv
	@$(PY) -m statechat_banking.service --host 127.0.0.1 --port $(BANK_PORT) & bank=$$!; \
	trap 'kill $$bank 2>/dev/null' EXIT INT TERM; \
	export CORE_BANKING_URL=http://127.0.0.1:$(BANK_PORT); \
	if $(VENV)/bin/statechat serve --help >/dev/null 2>&1; then \
		$(VENV)/bin/statechat serve flows --store $(STORE) --host 127.0.0.1 --port $(PORT); \
	else \
		$(VENV)/bin/statechat chat flows --store $(STORE) --verbose; \
	fi

# The same demo as a terminal conversation.
chat: venv
	@$(PY) -m statechat_banking.service --host 127.0.0.1 --port $(BANK_PORT) & bank=$$!; \
	trap 'kill $$bank 2>/dev/null' EXIT INT TERM; \
	CORE_BANKING_URL=http://127.0.0.1:$(BANK_PORT) $(VENV)/bin/statechat chat flows --store $(STORE) --verbose

lint: venv
	$(VENV)/bin/ruff check statechat tests benchmarks plugins_examples $(wildcard examples)
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

bench: venv
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) statechat.db statechat.db-wal statechat.db-shm .pytest_cache .mypy_cache
