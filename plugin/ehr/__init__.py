"""The EHR side: a FHIR client that writes ChargeItems and Provenance and reads evidence, with its auth.

    base.py         the configured base; ForeignUrl for anything outside it
    auth.py         StaticBearer, SmartBackendAuth (SMART Backend Services, private-key JWT)
    transport.py    HTTP, headers, responses -> EhrUnavailable / EhrRefused
    chargeitems.py  upsert / withdraw / set status by the deterministic identifier (Upsert)
    provenance.py   the Provenance naming the plugin (a Device) as author
    client.py       FhirClient (the facade the pipeline uses) and client_from_settings
"""
from plugin.ehr.auth import SmartBackendAuth, StaticBearer
from plugin.ehr.chargeitems import HELD_STATUSES, Upsert
from plugin.ehr.client import FhirClient, client_from_settings

__all__ = ["FhirClient", "HELD_STATUSES", "SmartBackendAuth", "StaticBearer", "Upsert", "client_from_settings"]
