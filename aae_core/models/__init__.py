"""Model families. Importing this package imports every module in it, and so registers every model
with ``aae_core.registry``: a new family is one new file here, nothing else to edit."""
import importlib
import pkgutil

from aae_core.models.base import Autoencoder, Batch, ModelConfig, ModelOutput

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Autoencoder", "Batch", "ModelConfig", "ModelOutput"]
