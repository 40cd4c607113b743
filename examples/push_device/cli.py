"""`python -m push_device ...`: the reference device on the command line.

Every command prints JSON on stdout (so scripts and tests can read it) and exits 1 with the
reason on stderr when the server or the device refuses. The state file (`--state`, or
$VERIFY_PUSH_DEVICE_STATE, or ~/.verify-push-device.json) holds the keys: keep it private.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .device import DEFAULT_APP_ID, Device, DeviceError
from .state import DEFAULT_PATH
from .transport import ApiError


def _read(source: str) -> str:
    """A JSON argument: inline, `-` for stdin, or `@file`."""
    if source == "-":
        return sys.stdin.read()
    if source.startswith("@"):
        return Path(source[1:]).read_text()
    return source


def _enrol(device: Device, args: argparse.Namespace) -> Any:
    issued: dict[str, Any] = (
        json.loads(_read(args.access_token_json)) if args.access_token_json else {}
    )
    token = args.access_token or issued.get("token")
    service_sid = args.service_sid or issued.get("service_sid")
    identity = args.identity or issued.get("entity_identity")
    if not (token and service_sid and identity):
        raise DeviceError(
            "enrol needs --access-token, --service-sid and --identity (or --access-token-json)"
        )
    record = device.enrol(
        base_url=args.base_url,
        service_sid=service_sid,
        identity=identity,
        access_token=token,
        friendly_name=args.friendly_name
        or issued.get("factor_friendly_name")
        or "Reference device",
        notification_platform=args.notification_platform,
        notification_token=args.notification_token,
        metadata=json.loads(args.metadata) if args.metadata else None,
    )
    return _public(record)


def _public(record: Any) -> dict[str, Any]:
    """A factor as the device knows it, without its private key."""
    data = asdict(record)
    data.pop("private_key_pem")
    return data


def _commands(device: Device, args: argparse.Namespace) -> Any:
    factor = getattr(args, "factor", None)
    match args.command:
        case "enrol":
            return _enrol(device, args)
        case "verify":
            return device.verify(factor)
        case "update-token":
            return device.update_notification_token(
                args.token or None, platform=args.platform, factor_sid=factor
            )
        case "factors":
            return [_public(record) for record in device.state.factors.values()]
        case "delete":
            device.delete(factor)
            return {"deleted": True}
        case "challenges":
            status = None if args.status == "all" else args.status
            return device.challenges(
                factor,
                status=status,
                page_size=args.page_size,
                order=args.order,
                page_token=args.page_token,
            )
        case "challenge":
            fetched = device.challenge(args.challenge_sid, factor)
            return {"challenge": fetched.body, "signature_fields": fetched.signature_fields}
        case "approve" | "deny":
            status = "approved" if args.command == "approve" else "denied"
            return device.answer(args.challenge_sid, status, factor)
        case "answer-push":
            status = "approved" if args.decision == "approve" else "denied"
            return device.answer_push(_read(args.payload), status)
    raise DeviceError(f"unknown command {args.command}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="push_device", description=__doc__.splitlines()[0])
    default_state = os.environ.get("VERIFY_PUSH_DEVICE_STATE", str(DEFAULT_PATH))
    top.add_argument("--state", type=Path, default=Path(default_state), help="key store file")
    top.add_argument("--app-id", default=DEFAULT_APP_ID, help="Config.AppId (the bundle id)")
    sub = top.add_subparsers(dest="command", required=True)

    def with_factor(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        command = sub.add_parser(name, **kwargs)
        command.add_argument("--factor", help="factor SID (default: the only one)")
        return command

    enrol = sub.add_parser("enrol", help="create a push factor with an access token")
    enrol.add_argument("--base-url", required=True, help="e.g. https://verify.example.com/v2/")
    enrol.add_argument("--access-token", help="the token your backend got from AccessTokens")
    enrol.add_argument("--access-token-json", help="the whole AccessToken JSON (inline, -, @file)")
    enrol.add_argument("--service-sid")
    enrol.add_argument("--identity")
    enrol.add_argument("--friendly-name")
    enrol.add_argument("--notification-platform", choices=["fcm", "apn", "none"], default="fcm")
    enrol.add_argument("--notification-token", help="omit to poll (platform none)")
    enrol.add_argument("--metadata", help="JSON object of strings")
    with_factor("verify", help="prove the key: the factor becomes verified")
    update = with_factor("update-token", help="send a new notification token")
    update.add_argument("token", help="the new token ('' to poll instead)")
    update.add_argument("--platform", choices=["fcm", "apn"], default="fcm")
    sub.add_parser("factors", help="the factors on this device")
    with_factor("delete", help="delete the factor and its key")
    listing = with_factor("challenges", help="list challenges (pending by default)")
    listing.add_argument(
        "--status", default="pending", choices=["pending", "approved", "denied", "expired", "all"]
    )
    listing.add_argument("--page-size", type=int, default=50)
    listing.add_argument("--order", choices=["asc", "desc"], default="asc")
    listing.add_argument("--page-token")
    for name in ("challenge", "approve", "deny"):
        command = with_factor(
            name, help=f"{name} a challenge" if name != "challenge" else "fetch one"
        )
        command.add_argument("challenge_sid")
    push = sub.add_parser("answer-push", help="answer the challenge a notification names")
    push.add_argument("decision", choices=["approve", "deny"])
    push.add_argument(
        "payload", nargs="?", default="-", help="notification JSON (inline, -, @file)"
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = _commands(Device(args.state, app_id=args.app_id), args)
    except (ApiError, DeviceError, ValueError) as exc:
        print(f"push_device: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
