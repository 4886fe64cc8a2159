"""`dwcoder watch DIR...`: take scanner exports from folders (plugin/scanners); `--unmatched` lists held files.

    dwcoder watch DIR... [--pattern P]... [--patient-system S] [--poll S] [--stable-polls N] [--once [--timeout S]]
    dwcoder watch --unmatched [DIR...] [--json]

Settings as for `dwcoder serve` (DATABASE_URL, REDIS_URL, SCANNER_*); options win over SCANNER_* settings.
Without REDIS_URL the events are processed by a local queue in this process. `--once` polls until no file
is waiting (or the timeout), then exits: for a scheduler instead of a resident process.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path


def register(sub) -> None:
    w = sub.add_parser("watch", help="take STL / PLY / DICOM exports from scanner folders (docs/scanners.md)")
    w.add_argument("folders", nargs="*", metavar="DIR")
    w.add_argument("--pattern", action="append", default=[], help="filename pattern, e.g. {PatientID}_{date}_{jaw}.stl")
    w.add_argument("--patient-system", help="identifier system of {PatientID} (SCANNER_PATIENT_SYSTEM)")
    w.add_argument("--poll", type=float, help="seconds between polls (SCANNER_POLL_S)")
    w.add_argument("--stable-polls", type=int, help="polls a file must stay unchanged (SCANNER_STABLE_POLLS)")
    w.add_argument("--once", action="store_true", help="poll until nothing is waiting, then exit")
    w.add_argument("--timeout", type=float, default=600.0, help="with --once: give up after this many seconds")
    w.add_argument("--unmatched", action="store_true", help="list the files held because they cannot be linked")
    w.add_argument("--json", action="store_true", help="with --unmatched: one JSON object per line")
    w.set_defaults(run=_watch)


def _settings(args: argparse.Namespace):
    from plugin.errors import ConfigError, SettingsError
    from plugin.scanners.naming import compile_patterns
    from plugin.settings import Settings

    settings = Settings.from_env()
    changes = {}
    if args.pattern:
        changes["scanner_patterns"] = tuple(args.pattern)
    if args.patient_system:
        changes["scanner_patient_system"] = args.patient_system
    if args.poll is not None:
        changes["scanner_poll_s"] = max(0.01, args.poll)
    if args.stable_polls is not None:
        changes["scanner_stable_polls"] = max(2, args.stable_polls)
    settings = replace(settings, **changes)
    try:
        compile_patterns(settings.scanner_patterns)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    if settings.scanner_patterns and not settings.scanner_patient_system:
        raise SettingsError("a pattern needs the identifier system of {PatientID}: --patient-system or SCANNER_PATIENT_SYSTEM")
    return settings


def _watch(args: argparse.Namespace) -> int:
    from plugin import logs, pipeline

    settings = _settings(args)
    folders = [str(Path(f).expanduser()) for f in args.folders] or list(settings.scanner_folders)
    missing = [f for f in folders if not Path(f).is_dir()]
    if missing:
        print(f"dwcoder: watch: not a folder: {missing[0]}", file=sys.stderr)
        return 2
    ctx = pipeline.context(settings)
    if args.unmatched:
        return _print_unmatched(ctx, folders, args.json)
    if not folders:
        print("dwcoder: watch: give a folder (or set SCANNER_FOLDERS)", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    local = pipeline.start_local(ctx) if settings.embedded_queue else None
    try:
        return _run(ctx, settings, folders, args)
    finally:
        if local is not None:
            deadline = time.monotonic() + 60
            while not (pipeline.settled(ctx) and local.idle()) and time.monotonic() < deadline:
                time.sleep(0.1)
            local.stop()


def _run(ctx, settings, folders: list[str], args: argparse.Namespace) -> int:
    from plugin.scanners.watch import Watcher, WatchConfig

    watchers = [Watcher(ctx.store, settings, WatchConfig.from_settings(settings, f)) for f in folders]
    print(f"dwcoder: watching {len(watchers)} folder(s) every {settings.scanner_poll_s:g} s"
          f"{'' if args.once else ' (Ctrl-C stops)'}", file=sys.stderr)
    if not args.once:
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in watchers]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                time.sleep(0.5)
        except KeyboardInterrupt:
            stop.set()
        return 0
    deadline = time.monotonic() + args.timeout
    totals = {"taken": 0, "unmatched": 0}
    while True:
        counts = [w.poll() for w in watchers]
        totals["taken"] += sum(c.taken for c in counts)
        if not any(c.busy for c in counts) and all(c.files == 0 or c.taken == 0 for c in counts):
            break
        if time.monotonic() > deadline:
            print(f"dwcoder: watch: files still waiting after {args.timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(settings.scanner_poll_s)
    with ctx.store.sessions() as s:
        from plugin.store import scanner as table

        held = sum(len(table.unmatched(s, w.key)) for w in watchers)
    print(f"dwcoder: watch: {totals['taken']} file(s) taken, {held} unmatched (dwcoder watch --unmatched)", file=sys.stderr)
    return 0


def _print_unmatched(ctx, folders: list[str], as_json: bool) -> int:
    from plugin.store import scanner as table

    keys = [str(Path(f).resolve()) for f in folders] or [None]
    with ctx.store.sessions() as s:
        rows = [table.as_dict(r) for key in keys for r in table.unmatched(s, key)]
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print("no unmatched files")
        return 0
    for row in rows:
        print(f"{row['folder']}/{row['path']}  ({row['kind']}, {row['size']} bytes, since {row['since'][:19]})\n"
              f"    {row['reason']}")
    return 0
