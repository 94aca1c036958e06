"""The `lapor` command: run the local system and operate it."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from chalicelib.auth import STAFF_ROLES, mint_token
from chalicelib.clock import system_now
from chalicelib.local.state import LOCAL_ISSUER, LocalState


def _state(args: argparse.Namespace) -> LocalState:
    return LocalState.at(args.home)


def cmd_serve(args: argparse.Namespace) -> int:
    from chalicelib.local.server import serve

    return serve(_state(args), args.host, args.port)


def cmd_token(args: argparse.Namespace) -> int:
    from chalicelib.reference import load_reference

    reference = load_reference()
    if args.institution:
        institution = reference.institution(args.institution)
        if institution is None:
            raise SystemExit(f"lapor token: unknown institution {args.institution!r} (see GET /institutions)")
        if args.unit and institution.unit(args.unit) is None:
            raise SystemExit(f"lapor token: {args.institution} has no unit {args.unit!r}")
    elif args.unit:
        raise SystemExit("lapor token: --unit needs --institution")
    if args.region and (reference.region(args.region) is None or reference.region(args.region).level != "province"):
        raise SystemExit(f"lapor token: --region must be a province code, not {args.region!r}")
    secrets = _state(args).secrets()
    try:
        token = mint_token(secrets["jwt_secret"], LOCAL_ISSUER, role=args.role, subject=args.subject or f"local-{args.role}",
                           now=system_now(), institution_id=args.institution, unit_id=args.unit,
                           region_code=args.region, lifetime=timedelta(hours=args.hours))
    except Exception as exc:  # claims that make no sense for the role
        raise SystemExit(f"lapor token: {exc}") from None
    print(token)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lapor", description="LAPOR: public-service complaints, event-sourced.")
    root.add_argument("--home", default=os.environ.get("LAPOR_HOME", ".lapor"),
                      help="local state folder (secrets, archive); default .lapor or $LAPOR_HOME")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the whole system locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.set_defaults(run=cmd_serve)

    token = commands.add_parser("token", help="mint a staff token that a local `lapor serve` accepts")
    token.add_argument("--role", required=True, choices=STAFF_ROLES)
    token.add_argument("--institution")
    token.add_argument("--unit")
    token.add_argument("--region", help="a supervisor's province scope")
    token.add_argument("--subject", help="user id recorded in events (default local-ROLE)")
    token.add_argument("--hours", type=float, default=12)
    token.set_defaults(run=cmd_token)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
