"""`lapor open311-key`: issue, list and revoke the API keys of Open311 client apps, on the running system.

The same store as the admin routes (POST /open311-keys, GET /open311-keys, POST /open311-keys/{id}/revocation);
the CLI acts as the operator at the console, recorded as `cli`.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from chalicelib.store.api_keys import DEFAULT_RATE_PER_MINUTE, MAX_RATE_PER_MINUTE, api_keys_of

_OPERATOR = "cli"


def _keys(args: argparse.Namespace) -> Any:
    from infra.cli import _running  # infra.cli imports this module: import it when a command runs

    return api_keys_of(_running(args))


def _rate(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_RATE_PER_MINUTE:
        raise argparse.ArgumentTypeError(f"must be a whole number 1..{MAX_RATE_PER_MINUTE}")
    return int(text)


def _name(text: str) -> str:
    if not text.strip() or len(text) > 100 or not text.isprintable():
        raise argparse.ArgumentTypeError("must be 1-100 printable characters")
    return text.strip()


def cmd_create(args: argparse.Namespace) -> int:
    from chalicelib.clock import system_now

    key, plain = _keys(args).issue(args.name, args.rate_per_minute, system_now(), _OPERATOR)
    print(json.dumps(key.to_dict() | {"api_key": plain}, indent=2))
    print(f"The api_key is shown only now; LAPOR keeps only its SHA-256. Give it to {args.name!r}.", flush=True)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    keys = _keys(args).list()
    if args.json:
        print(json.dumps([key.to_dict() for key in keys], indent=2))
        return 0
    if not keys:
        print("no Open311 API keys issued")
    for key in keys:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        print(f"{key.key_id}  {key.rate_per_minute:>5}/min  {state:<32}  {key.name}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from chalicelib.clock import system_now
    from chalicelib.errors import NotFound

    try:
        key = _keys(args).revoke(args.key_id, system_now(), _OPERATOR)
    except NotFound as missing:
        raise SystemExit(f"lapor open311-key revoke: {missing.message}") from None
    print(f"revoked {key.key_id} ({key.name}) at {key.revoked_at}")
    return 0


def register(commands: Any) -> None:
    """Add the open311-key subcommands to the `lapor` parser."""
    group = commands.add_parser("open311-key", help="issue, list and revoke Open311 client apps' API keys")
    actions = group.add_subparsers(dest="open311_command", required=True)
    create = actions.add_parser("create", help="issue a key to a client app (the key is printed once)")
    create.add_argument("name", type=_name, help="the client app; recorded as the channel detail of its reports")
    create.add_argument("--rate-per-minute", type=_rate, default=DEFAULT_RATE_PER_MINUTE,
                        help=f"POST requests a minute (default {DEFAULT_RATE_PER_MINUTE})")
    create.set_defaults(run=cmd_create)
    listing = actions.add_parser("list", help="the keys issued (never the keys themselves)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a key from its next request on")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=cmd_revoke)
