"""Development and end-to-end adapter: one JSON file per message in a folder.

Like Django's file-based email backend, but one complete JSON document per message, written
atomically (temporary file + rename), so a process watching the folder never reads half a
message. The folder comes from the `path` option, else the `VERIFY_FILEBASED_DIR` setting,
else the environment variable of the same name. Files hold codes, so the folder and files are
private to the user running the platform.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from channels.base import (
    BaseChannelAdapter,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)
from channels.templates import TemplateRenderError, render

_SAFE_NAME = str.maketrans({c: "_" for c in '/\\:*?"<>| \0'})


class FileBasedAdapter(BaseChannelAdapter):
    name = "filebased"
    option_names = frozenset({"path"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        path = (
            options.get("path")
            or getattr(settings, "VERIFY_FILEBASED_DIR", None)
            or os.environ.get("VERIFY_FILEBASED_DIR")
        )
        if not path or not isinstance(path, str | os.PathLike):
            raise ImproperlyConfigured(
                "filebased channel adapter needs a folder: the `path` option or the "
                "VERIFY_FILEBASED_DIR setting."
            )
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ImproperlyConfigured(f"VERIFY_FILEBASED_DIR {self.path} is not a directory.")

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            rendered = render(message)
        except TemplateRenderError as exc:
            raise ChannelPermanentError(f"template: {exc}") from exc
        created = datetime.now(UTC)
        document = {
            "channel": str(message.channel),
            "to": message.to,
            "body": rendered.body,
            "created": created.isoformat().replace("+00:00", "Z"),
            "attempt_sid": message.attempt_sid,
            "service_name": message.service_name,
            "locale": message.locale,
            "status_callback_url": message.status_callback_url,
        }
        if rendered.subject is not None:
            document["subject"] = rendered.subject
        if rendered.twiml is not None:
            document["twiml"] = rendered.twiml
        # Sortable by time; the attempt SID keeps names unique and findable; a retry of the
        # same attempt writes a second file rather than overwriting the first.
        stem = f"{created:%Y%m%dT%H%M%S%fZ}-{str(message.attempt_sid).translate(_SAFE_NAME)[:64]}"
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(document, fh, ensure_ascii=False, indent=2)
                    fh.flush()
                    os.fsync(fh.fileno())
                target = self._unique_target(stem)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            # A full disk or a permission problem may clear up; the engine retries.
            raise ChannelTemporaryError(f"filebased adapter could not write: {exc}") from exc
        return SendResult(
            status=DeliveryStatus.SENT,
            provider_message_id=message.attempt_sid,
            detail={"path": str(target)},
        )

    def _unique_target(self, stem: str) -> Path:
        target = self.path / f"{stem}.json"
        n = 1
        while target.exists() and n < 1000:
            target = self.path / f"{stem}-{n}.json"
            n += 1
        return target
