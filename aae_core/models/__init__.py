"""Model families. Importing this package registers every model with ``aae_core.registry``."""
from aae_core.models import (aae, cluster_aae, dimred_aae, label_aae, semi_aae,  # noqa: F401  (registration)
                             supervised_aae, vae)
from aae_core.models.base import Autoencoder, Batch, ModelConfig, ModelOutput

__all__ = ["Autoencoder", "Batch", "ModelConfig", "ModelOutput"]
