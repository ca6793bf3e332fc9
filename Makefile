# aae-explorer: the commands a newcomer needs (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
MNIST ?= ../shared/data/mnist
EPOCHS ?= 40
AAE_EPOCHS ?= 30

.PHONY: run test install install-test bench pretrained clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt

# Streamlit reads only .streamlit/config.toml: it is a link to the top-level streamlit_config.toml
# (committed; recreated here should a checkout have lost it).
.streamlit/config.toml: streamlit_config.toml
	mkdir -p .streamlit && ln -sfn ../streamlit_config.toml .streamlit/config.toml

run: install .streamlit/config.toml
	$(BIN)/streamlit run app/streamlit_app.py --server.port $(PORT)

install-test: install
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	  || (echo "Chromium is needed for the browser test: install Debian's 'chromium' package" && exit 1)

test: install-test .streamlit/config.toml
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m aae_core.bench

# Rebuild the shipped weights from the MNIST files in $(MNIST) (about an hour on 2 CPU cores).
TRAIN := $(BIN)/python -m aae_core.train --data $(MNIST) --epochs
FLAGS := --seed 0 --half --threads 1 --no-progress
pretrained: install
	$(TRAIN) $(AAE_EPOCHS) $(FLAGS) --model aae --prior mixture10 --set lr=1e-3 --set g_lr=1e-4 --set d_lr=1e-4 --set disc_noise=0.3 \
	  --out pretrained/aae-mixture10-2d \
	  --description "2-D AAE on a mixture of 10 Gaussians (the paper's Figure 2, bottom). Hyper-parameters: docs/training-notes.md" & \
	$(TRAIN) $(AAE_EPOCHS) $(FLAGS) --model aae --prior gaussian --set lr=1e-3 --set g_lr=1e-4 --set d_lr=1e-4 --set disc_noise=0.3 \
	  --out pretrained/aae-gaussian-2d \
	  --description "2-D AAE on N(0, 5^2 I) (the paper's Figure 2, top left); same hyper-parameters as aae-mixture10-2d" ; wait
	$(TRAIN) $(EPOCHS) $(FLAGS) --model vae --prior mixture10 --out pretrained/vae-mixture10-2d \
	  --description "2-D VAE on a mixture of 10 Gaussians, Monte-Carlo KL (the paper's Figure 2, bottom right)" & \
	$(TRAIN) $(EPOCHS) $(FLAGS) --model vae --prior gaussian --out pretrained/vae-gaussian-2d \
	  --description "2-D VAE on N(0, 5^2 I), closed-form KL (the paper's Figure 2, top right)" ; wait
	for m in aae-mixture10-2d aae-gaussian-2d vae-mixture10-2d vae-gaussian-2d; do \
	  $(BIN)/python -m aae_core.evaluate pretrained/$$m --data $(MNIST) --write || exit 1; done

clean:
	rm -rf runs .pytest_cache
