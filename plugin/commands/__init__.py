"""The service's commands, wired into `dwcoder` (plugin/cli.py calls `register`).

    dwcoder serve                         the HTTP service (+ the local queue when REDIS_URL is unset)
    dwcoder demo                          start it on the embedded defaults, send the example case, print the ChargeItems
    dwcoder doctor                        check each configured connection and say what is wrong
    dwcoder dead-letters list|show|replay the events that could not be processed
    dwcoder users add|reset|list          who may sign in (issue 9)
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from plugin.commands import dead_letters, doctor, service

    service.register(sub)
    doctor.register(sub)
    dead_letters.register(sub)
    from plugin.commands import users  # issue 9

    users.register(sub)
