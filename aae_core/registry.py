"""One registry of model names, feeding the training CLI, the loader, the app and the tests."""
from __future__ import annotations

from typing import Callable, TypeVar

_MODELS: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` buildable by ``name``; a name is taken once only."""

    def wrap(cls: T) -> T:
        if name in _MODELS:
            raise ValueError(f"model name {name!r} is already registered by {_MODELS[name].__name__}")
        if not hasattr(cls, "config_class"):
            raise TypeError(f"{cls.__name__} must define a config_class dataclass")
        cls.model_name = name
        _MODELS[name] = cls
        return cls

    return wrap


def list_models() -> list[str]:
    """Names of every registered model family, sorted."""
    return sorted(_MODELS)


def get_model_class(name: str) -> type:
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None
