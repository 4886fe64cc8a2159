"""The HTTP service (`dwcoder serve`): an ASGI app on Starlette, run by uvicorn.

    routes.py         the ONE route table (read it first: it is the contents page)
    app.py            create_app(settings): the app, its state (sources, store, rate limiter)
    middleware.py     correlation id per request, one access log line, unexpected errors -> 500
    problems.py       every refusal -> OperationOutcome (the one place errors become HTTP answers)
    body.py           reading a body under its size limit while it streams
    intake.py         storing accepted events and queueing their ids
    notify.py         POST /subscriptions/{id}: FHIR Subscription notifications (rest-hook)
    webhook.py        POST /webhooks/{source}: Standard Webhooks
    charge_items.py   GET /fhir/ChargeItem[/{id}]: the embedded ChargeItem store (plugin.store.chargeitems)
    openapi.py        GET /openapi.json
    cds.py            CDS Hooks 2.0: GET /cds-services, POST /cds-services/{id}[/feedback] (work in plugin/cds)
"""
