"""How the ALAE's code scale moves while it trains (docs/training-notes.md, "The relatives"):

    PYTHONPATH=. python docs/scripts/alae_code_scale.py [MNIST_FOLDER]

The first probe's setting (256-256 MLPs, 8-D code, the `alae` recipe), 1,200 steps of batch 100 on the
first 20,000 training images, one thread, seed 0; every 100 steps: the mean norm of the codes of 500
training images E(x), of 500 mapped prior samples F(z) and of their round trip E(G(F(z))), the
discriminator's mean output on each, and the step's losses."""
import sys

import torch

from aae_core.data import load_split
from aae_core.models.base import Batch
from aae_core.recipes import get_recipe
from aae_core.registry import get_model_class

torch.set_num_threads(1)
torch.manual_seed(0)
x = torch.from_numpy(load_split(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist", "train").flat_float()[:20000])
cls = get_model_class("alae")
model = cls(cls.config_class(hidden=(256, 256), disc_hidden=(256,), latent_dim=8))
opts = get_recipe("alae").build_optimizers(model)
for step in range(1, 1201):
    idx = torch.randint(len(x), (100,))
    out = model.train_step(Batch(x=x[idx]), opts)
    if step % 100 == 0:
        with torch.no_grad():
            e = model.encode(x[:500])
            z, _ = model.prior.sample(500)
            w = model.mapping(z)
            ew = model.encode(torch.sigmoid(model.decoder(w)))
            print(f"step {step}: |E(x)| {e.norm(dim=1).mean():.2f}  |F(z)| {w.norm(dim=1).mean():.2f}  "
                  f"|E(G(F(z)))| {ew.norm(dim=1).mean():.2f}  D(E(x)) {model.discriminator(e).mean():.2f}  "
                  f"D(E(G(F(z)))) {model.discriminator(ew).mean():.2f}  recip {float(out['recip']):.2f}  d {float(out['d']):.3f}",
                  flush=True)
