# Set-up and checks. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FIXTURE := audio_fixtures/synthetic/sv_clean_f4_04.flac

.PHONY: install run demo lint test test-fast bench-asr bench-service bench-diarization fixtures clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "swescribe needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama-cpp-python is compiled by pip. Built for the build machine's own CPU (GGML_NATIVE), it
# may use instructions a virtual machine advertises but traps (AVX-512/AMX: the server then dies
# with "invalid opcode" on its first request): build for AVX2, which every x86-64 server of the
# last ten years has.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

# Every extra (all: worker, diarization, llm, eval) and the test tools: this machine runs every
# process. The API alone needs none of them (docker/api.Dockerfile).
$(VENV)/.installed: $(BIN)/python pyproject.toml
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[all,test]'
	touch $@

install: $(VENV)/.installed

# The whole local service on its embedded defaults: offline model, SQLite, Redis started if
# none answers. Ctrl-C stops it.
run: install
	$(BIN)/swescribe up

# The command line on a bundled fixture, no service needed.
demo: install
	$(BIN)/swescribe transcribe $(FIXTURE) --format txt --format json --format srt --out out
	@echo "--- out/$(notdir $(basename $(FIXTURE))).txt"; cat out/$(notdir $(basename $(FIXTURE))).txt

# Lint and format checks (ruff) and types (mypy: strict on workers/transcript and
# workers/pipeline, see [tool.mypy] in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The tests that load no model and start no service. They spend most of their time waiting
# (sockets, subprocesses, timeouts), so they run in parallel processes (pytest-xdist); the rest
# load models or start whole stacks and run one at a time.
FAST := not model and not diarization and not accuracy and not integration and not llm
PARALLEL := 3

# mypy first: a type error fails in seconds, before the suite runs.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(PARALLEL) -m "$(FAST)"
	$(BIN)/pytest -m "not ($(FAST))" --durations=25

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(PARALLEL) -m "$(FAST)"

bench-asr: install
	$(BIN)/python bench/asr/run.py

bench-service: install
	$(BIN)/python bench/service/run.py

bench-diarization: install
	$(BIN)/python bench/diarization/run.py

# Regenerates the synthetic fixtures; needs Debian's espeak-ng and sox.
fixtures:
	$(BIN)/python audio_fixtures/make_fixtures.py
	$(BIN)/python audio_fixtures/make_conversations.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
