"""CDS Hooks 2.0 (issue 10): the plugin's suggestions inside the EHR while the encounter is still open.

    services.py   the services (encounter-discharge, order-sign, appointment-book), their prefetch templates,
                  the discovery document, rendering a template from the hook's context
    trust.py      the EHR's signed JWT: allow-listed issuers and JWKS URLs, RS384 / ES384, kid, aud, exp, iat, jti
    prefetch.py   the hook's prefetch, and what is missing fetched from fhirServer with the request's token
    hook.py       one hook call: the store's case group + the hook's resources -> code_evidence -> cards
    cards.py      the cards (summary, detail, suggestions creating ChargeItems, override reasons, links)
    feedback.py   accepted / overridden cards -> the reviewer queue's decide(..., via="cds")
The web layer (plugin/web/cds.py) only reads requests and calls these; the tables are in plugin/store/cds.py.
"""
