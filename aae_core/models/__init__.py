"""Model families. Importing this package registers every model with ``aae_core.registry``."""
from aae_core.models import aae, vae  # noqa: F401  (registration side effect is the point)
from aae_core.models.base import Autoencoder, ModelConfig, ModelOutput

__all__ = ["Autoencoder", "ModelConfig", "ModelOutput"]
