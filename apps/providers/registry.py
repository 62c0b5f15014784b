"""Maps a provider kind to its backend class (Django's backend pattern: a setting, lazy imports)."""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .base import AccountConfig, ProviderBackend


@cache
def backend_class(provider: str) -> type[ProviderBackend]:
    try:
        path = settings.INSTANT_PROVIDER_BACKENDS[provider]
    except KeyError:
        raise LookupError(f"No backend for provider {provider!r}") from None
    return import_string(path)


def provider_choices() -> list[tuple[str, str]]:
    return [(kind, backend_class(kind).label) for kind in settings.INSTANT_PROVIDER_BACKENDS]


def get_backend(config: AccountConfig, **kwargs) -> ProviderBackend:
    return backend_class(config.provider)(config, **kwargs)
