"""The service's commands, wired into `dwcoder` (plugin/cli.py calls `register`).

    dwcoder serve                         the HTTP service (+ the local queue when REDIS_URL is unset)
    dwcoder demo                          start it on the embedded defaults, send the example case, print the ChargeItems
    dwcoder doctor                        check each configured connection and say what is wrong
    dwcoder dead-letters list|show|replay the events that could not be processed
    dwcoder migrate | health | settings reference | code-sets check   operating a deployment (operate.py)
    dwcoder watch DIR... | --unmatched    scanner export folders (issue 8)
    dwcoder reconcile [--since ISO]       queue what the PACS / FHIR server hold that the plugin has not seen
    dwcoder users add|reset|list          who may sign in (issue 9)
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from plugin.commands import dead_letters, doctor, service

    service.register(sub)
    doctor.register(sub)
    dead_letters.register(sub)
    from plugin.commands import operate  # issue 11: migrate, health, settings reference, code-sets check

    operate.register(sub)
    from plugin.commands import watch

    watch.register(sub)
    from plugin.commands import reconcile  # issue 8

    reconcile.register(sub)
    from plugin.commands import users  # issue 9

    users.register(sub)
