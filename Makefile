# aae-explorer: the commands a newcomer needs (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
# The server listens on this machine only. To serve a classroom: `make run ADDRESS=0.0.0.0` (README).
ADDRESS ?= 127.0.0.1
MNIST ?= ../shared/data/mnist

.PHONY: run test install install-test bench bench-load bench-memory bench-soak bench-live bench-mouse pretrained pretrained-relatives pretrained-fashion pretrained-all results clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt

# Streamlit reads only .streamlit/config.toml: it is a link to the top-level streamlit_config.toml
# (committed; recreated here should a checkout have lost it).
.streamlit/config.toml: streamlit_config.toml
	mkdir -p .streamlit && ln -sfn ../streamlit_config.toml .streamlit/config.toml

# MALLOC_ARENA_MAX: every session runs in its own thread, and glibc's allocator would give each thread
# its own heap that it seldom returns (measured with `make bench-soak`: see README, "Under load").
MALLOC_ARENA_MAX ?= 2
export MALLOC_ARENA_MAX
run: install .streamlit/config.toml
	$(BIN)/streamlit run app/streamlit_app.py --server.port $(PORT) --server.address $(ADDRESS)

install-test: install
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	  || (echo "Chromium is needed for the browser test: install Debian's 'chromium' package" && exit 1)

test: install-test .streamlit/config.toml
	$(BIN)/python -m pytest -q

# Training and decoding speed, then the browser round trips (slider moves, page ready) of 1 and 10
# concurrent sessions beside a trivial one-slider app measured in the same run.
bench: install-test
	$(BIN)/python -m aae_core.bench
	$(BIN)/python -m app.bench_load ratio --sessions 1 10
	$(BIN)/python -m app.bench_load ready
	$(BIN)/python -m app.bench_load mouse

# Real browsers against the real app and a trivial one-slider app in the same run (app/bench_load.py):
# 5, 10 and 20 concurrent sessions, page-ready and slider round trips as multiples of the floor.
bench-load: install-test
	$(BIN)/python -m app.bench_load ratio
# The server's memory after every page, then across 100 sessions opened and closed.
bench-memory: install-test
	$(BIN)/python -m app.bench_load memory
# 30 minutes of mixed page visits: errors, p95 and memory, minute by minute.
bench-soak: install-test
	$(BIN)/python -m app.bench_load soak --minutes 30
# 0, 5 and 20 sessions training on the live page: their epochs per minute, and another session's slider round trips;
# first with the trainers' sessions speaking Streamlit's protocol without a browser (as when every student's browser
# runs on the student's own computer), then with a headless browser each on this machine.
bench-live: install-test
	$(BIN)/python -m app.bench_load live --trainers 0 5 20 --wire
	$(BIN)/python -m app.bench_load live --trainers 0 5 20

# The in-browser decoder: decodes per second under continuous pointer motion, latency, page memory
bench-mouse: install-test
	$(BIN)/python -m app.bench_load mouse

# Rebuild the shipped weights from the MNIST files in $(MNIST). One table drives it:
# aae_core/shipped.py (one row per model: family, prior, widths, recipe, the recipes compared, epochs,
# selection metric). Each recipe of a row trains into runs/NAME--RECIPE (one thread per run, $(JOBS)
# at a time, resumable); `pick` ships the run with the best validation score, in 8 bits.
JOBS ?= 2
SHIPPED := $(BIN)/python -m aae_core.shipped
# The 2-D comparison and label-conditioned models, retrained on the CPU (about 80 min on 2 cores).
CPU_2D := aae-gaussian-2d aae-mixture10-2d vae-gaussian-2d vae-mixture10-2d label-aae-mixture10 label-aae-swissroll
pretrained: install
	$(SHIPPED) train $(CPU_2D) --data $(MNIST) --jobs $(JOBS)
	$(SHIPPED) pick $(CPU_2D) --data $(MNIST)
	$(BIN)/python -m aae_core.report --write docs/results.md

# The relatives (AE, VAE, DAE, CAE, the WAEs, CVAE with 256-256 MLPs; the ALAE; the convolutional AAEs), on the CPU.
pretrained-relatives: install
	$(SHIPPED) train relatives --data $(MNIST) --jobs $(JOBS)
	$(SHIPPED) pick relatives --data $(MNIST)

# Fashion-MNIST's 2-D AAE and VAE (data: Debian's dataset-fashion-mnist, or any folder with its four IDX files).
FASHION ?= /usr/share/datasets/fashion-mnist
pretrained-fashion: install
	$(SHIPPED) train fashion --data $(FASHION) --jobs $(JOBS)
	$(SHIPPED) pick fashion --data $(FASHION)

# Every MNIST row of the table (the label-aware family with the paper MLP: several CPU hours).
pretrained-all: install
	$(SHIPPED) train all --data $(MNIST) --jobs $(JOBS)
	$(SHIPPED) pick all --data $(MNIST)
	$(BIN)/python -m aae_core.report --write docs/results.md

clean:
	rm -rf runs .pytest_cache
