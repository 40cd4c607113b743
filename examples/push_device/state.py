"""The device's local store: its factors and their private keys, in one JSON file.

A phone keeps the key in its keystore; this reference device keeps it in a file that only its
owner can read (mode 0600, written to a temporary file and renamed, so a crash never leaves a
half-written key store). The file also keeps the clock correction learnt from the server's
`Date` header, as the SDKs keep theirs in their preferences.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path.home() / ".verify-push-device.json"
FORMAT = 1


@dataclass
class FactorRecord:
    """What the device must remember of a factor to sign for it later."""

    sid: str
    base_url: str
    service_sid: str
    identity: str
    account_sid: str
    credential_sid: str
    friendly_name: str
    status: str
    private_key_pem: str
    app_id: str = ""
    notification_platform: str = "none"
    notification_token: str = ""


@dataclass
class DeviceState:
    factors: dict[str, FactorRecord] = field(default_factory=dict)
    time_correction: int = 0  # seconds to add to the local clock (server minus local)

    @classmethod
    def load(cls, path: Path) -> DeviceState:
        if not path.exists():
            return cls()
        data: dict[str, Any] = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown state format {data.get('format')!r}")
        factors = {sid: FactorRecord(**raw) for sid, raw in data.get("factors", {}).items()}
        return cls(factors=factors, time_correction=int(data.get("time_correction", 0)))

    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT,
            "time_correction": self.time_correction,
            "factors": {sid: asdict(record) for sid, record in self.factors.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".verify-push-", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=2)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def factor(self, sid: str | None) -> FactorRecord:
        """The named factor, or the only one when none is named."""
        if sid is not None:
            try:
                return self.factors[sid]
            except KeyError:
                raise LookupError(f"no factor {sid} on this device") from None
        if len(self.factors) != 1:
            raise LookupError(
                f"this device has {len(self.factors)} factors: name one with --factor"
            )
        return next(iter(self.factors.values()))
