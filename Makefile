# The two commands of the README: `make demo` (the main job) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/framing
ARTICLE ?= examples/tass_grain_corridor.txt
OUT ?= outputs

.PHONY: install demo test lint

install:
	@bash scripts/install.sh

# Train the default model on the bundled corpus (kept if $(RUN) already exists: delete it, or
# `make demo RETRAIN=1`, to train again), then label the example article.
demo: install
	@if [ -d "$(RUN)" ] && [ -z "$(RETRAIN)" ]; then \
	  echo "$(RUN) exists: keeping it (make demo RETRAIN=1 replaces it)"; \
	else \
	  $(BIN)/stanceframe train configs/framing.yaml --run-dir $(RUN) $(if $(RETRAIN),--overwrite,); \
	fi
	$(BIN)/stanceframe info $(RUN)
	$(BIN)/stanceframe analyze $(RUN) $(ARTICLE) --out $(OUT)/article --overwrite

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/import_graph.py

test: install lint
	$(BIN)/python -m pytest -q
