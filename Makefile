# aae-explorer: the commands a newcomer needs (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
MNIST ?= ../shared/data/mnist
EPOCHS ?= 40
AAE_EPOCHS ?= 30

.PHONY: run test install install-test bench pretrained pretrained-labels lane-semi lane-other results clean

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

# The label-aware family (issue 3): the paper protocol — the last 10,000 training images are the
# validation split (epoch selection, cluster naming, Parzen σ), labelled images drawn per digit with
# label seed 0, the test set used only for the final numbers. Two lanes of one thread each.
PAPER := --val-size 10000 --seed 0 --half --threads 1 --no-progress
SMALL := --hidden 500,500
SEMI_EPOCHS ?= 40
SEMI1000_EPOCHS ?= 20
SEMIALL_EPOCHS ?= 10
CLUSTER_EPOCHS ?= 20
VIS_EPOCHS ?= 20
ADV ?= --set g_lr=1e-3
LT := $(BIN)/python -m aae_core.train --data $(MNIST) $(PAPER) $(ADV)
lane-semi: install
	$(LT) --model semi-aae --labels 100 --epochs $(SEMI_EPOCHS) --out pretrained/semi-aae-100 \
	  --description "Semi-supervised AAE, 100 labels (the paper's Table 2)"
	$(LT) --model semi-aae --labels 1000 --epochs $(SEMI1000_EPOCHS) --out pretrained/semi-aae-1000 \
	  --description "Semi-supervised AAE, 1000 labels (the paper's Table 2)"
	$(LT) --model semi-aae --labels all --epochs $(SEMIALL_EPOCHS) --out pretrained/semi-aae-all \
	  --description "Semi-supervised AAE, all 50,000 training labels (the paper's Table 2)"
lane-other: install
	$(LT) $(SMALL) --model label-aae --prior mixture10 --labels 10000 --epochs $(VIS_EPOCHS) --out pretrained/label-aae-mixture10 \
	  --description "2-D AAE with label-conditioned regularization on the 10-Gaussian mixture, 10k labelled + 40k unlabelled (Figure 4)"
	$(LT) $(SMALL) --model label-aae --prior swissroll --labels 10000 --epochs $(VIS_EPOCHS) --out pretrained/label-aae-swissroll \
	  --description "2-D AAE with label-conditioned regularization on the swiss roll, 10k labelled + 40k unlabelled (Figure 4)"
	$(LT) $(SMALL) --model supervised-aae --labels all --latent-dim 2 --epochs $(VIS_EPOCHS) --out pretrained/supervised-aae-2d \
	  --description "Supervised AAE: the decoder reads the digit, the 2-D code holds the style (Figure 7)"
	$(LT) $(SMALL) --model supervised-aae --labels all --latent-dim 15 --epochs $(VIS_EPOCHS) --out pretrained/supervised-aae-15d \
	  --description "Supervised AAE: the decoder reads the digit, the 15-D code holds the style (Figure 7)"
	$(LT) $(SMALL) --model dimred-aae --labels 1000 --epochs $(VIS_EPOCHS) --out pretrained/dimred-aae-1000 \
	  --description "Dimensionality-reduction AAE, 1000 labels, 2-D map W·y + z (Figure 11)"
	$(LT) $(SMALL) --model dimred-aae --labels 100 --epochs $(VIS_EPOCHS) --out pretrained/dimred-aae-100 \
	  --description "Dimensionality-reduction AAE, 100 labels, 2-D map W·y + z (Figure 11)"
	$(LT) $(SMALL) --model dimred-aae --set n_classes=20 --epochs $(VIS_EPOCHS) --out pretrained/dimred-aae-20clusters \
	  --description "Dimensionality-reduction AAE, unsupervised, 20 clusters, 2-D map W·y + z (Figure 11)"
	$(LT) --model aae --latent-dim 8 --epochs $(VIS_EPOCHS) --out pretrained/aae-gaussian-8d \
	  --description "8-D AAE on N(0, 5²I) for the Parzen-window log-likelihood (the paper's Table 1)"
	$(LT) --model cluster-aae --set n_classes=16 --epochs $(CLUSTER_EPOCHS) --out pretrained/cluster-aae-16 \
	  --description "Unsupervised clustering AAE, 16 clusters (the paper's Table 3)"
	$(LT) --model cluster-aae --set n_classes=30 --epochs $(CLUSTER_EPOCHS) --out pretrained/cluster-aae-30 \
	  --description "Unsupervised clustering AAE, 30 clusters (the paper's Table 3)"
pretrained-labels: install
	$(MAKE) -j2 lane-semi lane-other
	$(BIN)/python -m aae_core.report --write docs/results.md

clean:
	rm -rf runs .pytest_cache
