"""Model families. Importing this package registers every model with ``aae_core.registry``."""
from aae_core.models import (aae, ae, cae, cluster_aae, cvae, dae, dimred_aae,  # noqa: F401  (registration)
                             label_aae, semi_aae, supervised_aae, vae, wae)
from aae_core.models.base import Autoencoder, Batch, ModelConfig, ModelOutput

__all__ = ["Autoencoder", "Batch", "ModelConfig", "ModelOutput"]
