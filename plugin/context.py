"""The Context the service's plain functions take: settings, the store, and the FHIR client (when FHIR_BASE_URL is set).

Its own module, below the pipeline and the reviewer queue, so both take it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugin.settings import Settings
from plugin.store import Store


@dataclass
class Context:
    """What the functions need: settings, the store, and the FHIR client when FHIR_BASE_URL is set."""

    settings: Settings
    store: Store
    _fhir: Any = field(default=None, repr=False)

    @property
    def fhir(self):
        if self._fhir is None and self.settings.fhir_base_url:
            from plugin.ehr import client_from_settings

            self._fhir = client_from_settings(self.settings)
        return self._fhir


_CONTEXT: dict[str, Context] = {}


def context(settings: Settings | None = None) -> Context:
    """The process's Context (one per database URL), created and migrated on first use."""
    settings = settings or Settings.from_env()
    ctx = _CONTEXT.get(settings.database_url)
    if ctx is None or ctx.settings != settings:
        ctx = _CONTEXT[settings.database_url] = Context(settings, Store.from_settings(settings))
    return ctx
