"""`dwcoder users add|reset|list`: the embedded default's users (argon2 password hashes in the database).

    dwcoder users add NAME --role reviewer|admin --practice 'SYSTEM|VALUE' (or '*': every practice)
    dwcoder users reset NAME [--role ...] [--practice ...] [--disable | --enable] [--keep-password]
    dwcoder users list

The password is read from the terminal (asked twice, not echoed) or, with --password-stdin, from the first
line of standard input; never from the command line (it would be in the shell history and `ps`). A reset
ends every session of the user.
"""
from __future__ import annotations

import argparse
import getpass
import sys


def register(sub) -> None:
    u = sub.add_parser("users", help="add, reset or list the users who may sign in (password sign-in)")
    usub = u.add_subparsers(required=True, dest="action")
    add = usub.add_parser("add", help="a new user; the password is asked for (or read with --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=("reviewer", "admin"), default="reviewer")
    add.add_argument("--practice", required=True, help="SYSTEM|VALUE of the practice the user sees, or '*' for all")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(run=_add)
    reset = usub.add_parser("reset", help="a new password and/or role, practice; ends the user's sessions")
    reset.add_argument("username")
    reset.add_argument("--role", choices=("reviewer", "admin"))
    reset.add_argument("--practice")
    state = reset.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="the user can no longer sign in")
    state.add_argument("--enable", action="store_true")
    reset.add_argument("--keep-password", action="store_true", help="change only role, practice or state")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(run=_reset)
    usub.add_parser("list", help="every user: name, role, practice, sign-in kind, state").set_defaults(run=_list)


def _store():
    from plugin.settings import Settings
    from plugin.store import Store

    return Store.from_settings(Settings.from_env())


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _add(args: argparse.Namespace) -> int:
    from plugin.web.auth.users import add_user

    return _change(lambda: add_user(_store(), args.username, read_password(args.password_stdin), args.role, args.practice),
                   "added {user.username} ({user.role}, practice {user.practice})")


def _reset(args: argparse.Namespace) -> int:
    from plugin.web.auth.users import reset_user

    disabled = True if args.disable else False if args.enable else None
    return _change(lambda: reset_user(_store(), args.username, None if args.keep_password else read_password(args.password_stdin),
                                      args.role, args.practice, disabled),
                   "reset {user.username} ({user.role}, practice {user.practice}); its sessions ended")


def _change(write, done: str) -> int:
    """Run a user change; its refusal (UserError, ValueError) as one line on stderr, exit status 1."""
    from plugin.web.auth.users import UserError

    try:
        user = write()
    except (UserError, ValueError) as exc:
        print(f"dwcoder: {exc}", file=sys.stderr)
        return 1
    print(done.format(user=user))
    return 0


def _list(args: argparse.Namespace) -> int:
    from plugin.web.auth.users import list_users

    found = list_users(_store())
    if not found:
        print("no users (add one: dwcoder users add NAME --practice 'SYSTEM|VALUE')")
        return 0
    print(f"{'username':<30} {'role':<9} {'sign-in':<9} {'state':<9} practice")
    for user, kind, disabled in found:
        print(f"{user.username[:30]:<30} {user.role:<9} {kind:<9} {'disabled' if disabled else 'active':<9} {user.practice}")
    return 0
