"""Registries of names: one for model families (feeding the training CLI, the loader, the app and
the tests) and one for priors. A name is taken once only."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str, attribute: str) -> None:
        self.kind, self.attribute = kind, attribute  # attribute: where a class learns its own name
        self._classes: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def wrap(cls: T) -> T:
            if name in self._classes:
                raise ValueError(f"{self.kind} name {name!r} is already registered by {self._classes[name].__name__}")
            setattr(cls, self.attribute, name)
            self._classes[name] = cls
            return cls

        return wrap

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> T:
        try:
            return self._classes[name]
        except (KeyError, TypeError):
            raise KeyError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}") from None


MODELS: Registry = Registry("model", "model_name")


def register_model(name: str):
    """Class decorator: make a model class (with a ``config_class``) buildable by ``name``."""
    def wrap(cls):
        if not hasattr(cls, "config_class"):
            raise TypeError(f"{cls.__name__} must define a config_class dataclass")
        return MODELS.register(name)(cls)

    return wrap


def list_models() -> list[str]:
    """Names of every registered model family, sorted."""
    return MODELS.names()


def get_model_class(name: str) -> type:
    return MODELS.get(name)
