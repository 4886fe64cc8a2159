"""Structured JSON log lines for the service: one object per line on stderr, with the correlation id that
follows one event from the webhook to the ChargeItem.

Never put patient data in a field: log event ids, case hashes (`case_hash`), counts, class names of errors
and resource types. Case keys hold patient references and DICOM PatientIDs, so they are hashed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
import time

LOGGER = "dwcoder"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": round(record.created, 3), "level": record.levelname.lower(), "msg": record.getMessage()}
        out.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__  # the class only: messages may quote payloads
        return json.dumps(out, sort_keys=True, default=str)


def setup(level: str = "INFO", stream=None) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    if not any(getattr(h, "_dwcoder", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._dwcoder = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log(msg: str, level: int = logging.INFO, **fields) -> None:
    logging.getLogger(LOGGER).log(level, msg, extra={"fields": fields})


def case_hash(case_key: str) -> str:
    """A short stable name for a case group that reveals no patient reference or identifier."""
    return hashlib.sha256(case_key.encode()).hexdigest()[:12]


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
