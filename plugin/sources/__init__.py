"""What the service accepts, before anything is stored: pure functions, no I/O.

    config.py          the configured sources (webhook secrets and limits, subscriptions, FHIR base)
    webhooks.py        Standard Webhooks 1.0 signatures over the raw body (rotation, tolerance)
    bodies.py          body kinds by content type, and the checks a body passes at the door
    fhir_check.py      FHIR validation whose messages name the path and field, never a value
    references.py      references on the configured FHIR base (anything else is refused)
    notifications.py   a Subscription notification (R4 / R4B backport, R5) read into a Notification
    subscriptions.py   a Notification turned into events: full-resource / id-only / empty, header, gaps
    ratelimit.py       per-source token buckets (429 with Retry-After)

Every refusal is a `plugin.errors.SourceRefused` carrying the HTTP status and the OperationOutcome code.
"""
