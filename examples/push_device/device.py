"""A Verify Push device: the calls Twilio's SDKs make, in the order an app makes them.

Enrol with the short-lived access token the backend hands out (`FactorAPIClient.create`),
prove the key (`PushFactory.verify`: the factor SID signed), keep the notification token
current (`PushFactory.update`), and fetch, list and answer challenges
(`ChallengeAPIClient`, `PushChallengeProcessor.update`), every call after enrolment
authenticated by a JWT signed with the factor's own key. The checks the SDKs make before
signing an answer are made here too, so this device refuses what they refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import payload as push_payload
from .keys import DeviceKey
from .state import DEFAULT_PATH, DeviceState, FactorRecord
from .tokens import answer_token, auth_token
from .transport import VERSION, ApiError, Transport

SIGNATURE_FIELDS_HEADER = "Twilio-Verify-Signature-Fields"
DEFAULT_APP_ID = "com.example.verifypush.reference"


class DeviceError(Exception):
    """A refusal made on the device before anything is signed or sent."""


@dataclass
class FetchedChallenge:
    """A challenge as the server returned it, with the fields it asks the device to sign."""

    body: dict[str, Any]
    signature_fields: list[str] | None

    @property
    def sid(self) -> str:
        return self.body["sid"]

    @property
    def status(self) -> str:
        return self.body["status"]


def api_root(base_url: str) -> str:
    """The SDKs' base URL ends in `/v2/`; accept the server root or that."""
    url = base_url.rstrip("/")
    if not urlsplit(url).path.endswith("/v2"):
        url += "/v2"
    return url + "/"


def _segment(value: str) -> str:
    return quote(value, safe="")


class Device:
    def __init__(self, state_path: Path = DEFAULT_PATH, *, app_id: str = DEFAULT_APP_ID) -> None:
        self.state_path = state_path
        self.app_id = app_id
        self.state = DeviceState.load(state_path)
        self.transport = Transport(app_name=app_id, time_correction=self.state.time_correction)

    # -- local state -------------------------------------------------------------------

    def _save(self) -> None:
        self.state.time_correction = self.transport.time_correction
        self.state.save(self.state_path)

    def factor(self, sid: str | None = None) -> FactorRecord:
        try:
            return self.state.factor(sid)
        except LookupError as exc:
            raise DeviceError(str(exc)) from None

    def _jwt(self, record: FactorRecord) -> str:
        return auth_token(
            DeviceKey.from_pem(record.private_key_pem),
            credential_sid=record.credential_sid,
            account_sid=record.account_sid,
            now=self.transport.now(),
        )

    def _url(self, record: FactorRecord, *path: str) -> str:
        base = f"{record.base_url}Services/{_segment(record.service_sid)}"
        return "/".join([base, "Entities", _segment(record.identity), *map(_segment, path)])

    def _call(
        self, record: FactorRecord, method: str, *path: str, **kwargs: Any
    ) -> requests.Response:
        """A JWT-authenticated call; a clock correction learnt on the way is kept."""
        try:
            return self.transport.request(
                method, self._url(record, *path), password=lambda: self._jwt(record), **kwargs
            )
        finally:
            if self.transport.time_correction != self.state.time_correction:
                self._save()

    def _config(self, platform: str, token: str | None) -> dict[str, str]:
        config = {"Config.SdkVersion": VERSION, "Config.AppId": self.app_id}
        config["Config.NotificationPlatform"] = platform if token else "none"
        if token:
            config["Config.NotificationToken"] = token
        return config

    # -- factors -----------------------------------------------------------------------

    def enrol(
        self,
        *,
        base_url: str,
        service_sid: str,
        identity: str,
        access_token: str,
        friendly_name: str,
        notification_platform: str = "fcm",
        notification_token: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> FactorRecord:
        """Create a push factor with a fresh key; the access token is the only credential."""
        key = DeviceKey.generate()
        root = api_root(base_url)
        form = {
            "FriendlyName": friendly_name,
            "FactorType": "push",
            "Binding.PublicKey": key.public_key_b64(),
            "Binding.Alg": "ES256",
            **self._config(notification_platform, notification_token),
        }
        if metadata is not None:
            form["Metadata"] = json.dumps(metadata)
        url = f"{root}Services/{_segment(service_sid)}/Entities/{_segment(identity)}/Factors"
        response = self.transport.request(
            "POST", url, password=lambda: access_token, data=form, retry_on_clock=False
        )
        body = response.json()
        credential_sid = (body.get("config") or {}).get("credential_sid")
        if not credential_sid or not body.get("account_sid") or not body.get("sid"):
            raise DeviceError("the factor answer lacks sid, account_sid or config.credential_sid")
        record = FactorRecord(
            sid=body["sid"],
            base_url=root,
            service_sid=service_sid,
            identity=identity,
            account_sid=body["account_sid"],
            credential_sid=credential_sid,
            friendly_name=body.get("friendly_name") or friendly_name,
            status=body.get("status", "unverified"),
            private_key_pem=key.to_pem(),
            app_id=self.app_id,
            notification_platform=form["Config.NotificationPlatform"],
            notification_token=notification_token or "",
        )
        self.state.factors[record.sid] = record
        self._save()
        return record

    def verify(self, factor_sid: str | None = None) -> dict[str, Any]:
        """Prove possession of the key: the factor SID, signed, as `AuthPayload`."""
        record = self.factor(factor_sid)
        proof = DeviceKey.from_pem(record.private_key_pem).sign_b64(record.sid)
        form = {"AuthPayload": proof}
        result = self._call(record, "POST", "Factors", record.sid, data=form).json()
        record.status = result.get("status", record.status)
        self._save()
        return result

    def update_notification_token(
        self, token: str | None, *, platform: str = "fcm", factor_sid: str | None = None
    ) -> dict[str, Any]:
        """Tell the server where notifications go now (an empty token means: poll)."""
        record = self.factor(factor_sid)
        form = {"FriendlyName": record.friendly_name, **self._config(platform, token)}
        result = self._call(record, "POST", "Factors", record.sid, data=form).json()
        record.notification_platform = form["Config.NotificationPlatform"]
        record.notification_token = token or ""
        self._save()
        return result

    def delete(self, factor_sid: str | None = None) -> None:
        """Delete the factor on the server (already gone counts as done), then the key."""
        record = self.factor(factor_sid)
        try:
            self._call(record, "DELETE", "Factors", record.sid)
        except ApiError as exc:
            if exc.status != 404:
                raise
        del self.state.factors[record.sid]
        self._save()

    # -- challenges --------------------------------------------------------------------

    def challenges(
        self,
        factor_sid: str | None = None,
        *,
        status: str | None = "pending",
        page_size: int = 50,
        order: str = "asc",
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of the factor's challenges: `{"challenges": [...], "meta": {...}}`."""
        record = self.factor(factor_sid)
        params: dict[str, Any] = {"PageSize": page_size, "FactorSid": record.sid, "Order": order}
        if status:
            params["Status"] = status
        if page_token:
            params["PageToken"] = page_token
        return self._call(record, "GET", "Challenges", params=params).json()

    def challenge(self, challenge_sid: str, factor_sid: str | None = None) -> FetchedChallenge:
        record = self.factor(factor_sid)
        response = self._call(record, "GET", "Challenges", challenge_sid)
        header = response.headers.get(SIGNATURE_FIELDS_HEADER)
        fields = header.split(",") if header else None
        return FetchedChallenge(response.json(), fields)

    def answer_payload(
        self, fetched: FetchedChallenge, status: str, factor_sid: str | None = None
    ) -> str:
        """Sign an answer after the SDKs' checks: right factor, pending, fields to sign."""
        record = self.factor(factor_sid)
        if fetched.body.get("factor_sid") != record.sid:
            raise DeviceError("the challenge belongs to another factor")
        if fetched.status == "expired":
            raise DeviceError("the challenge has expired")
        if fetched.status != "pending":
            raise DeviceError(f"the challenge is already {fetched.status}")
        if not fetched.signature_fields:
            raise DeviceError(f"the server sent no {SIGNATURE_FIELDS_HEADER} header")
        try:
            return answer_token(
                DeviceKey.from_pem(record.private_key_pem),
                fields=fetched.signature_fields,
                challenge=fetched.body,
                status=status,
            )
        except ValueError as exc:
            raise DeviceError(str(exc)) from None

    def post_answer(
        self, challenge_sid: str, auth_payload: str, factor_sid: str | None = None
    ) -> dict[str, Any]:
        record = self.factor(factor_sid)
        form = {"AuthPayload": auth_payload}
        return self._call(record, "POST", "Challenges", challenge_sid, data=form).json()

    def answer(
        self, challenge_sid: str, status: str, factor_sid: str | None = None
    ) -> dict[str, Any]:
        """Fetch, sign, send, and fetch again to confirm, as the SDKs do."""
        fetched = self.challenge(challenge_sid, factor_sid)
        auth_payload = self.answer_payload(fetched, status, factor_sid)
        self.post_answer(challenge_sid, auth_payload, factor_sid)
        after = self.challenge(challenge_sid, factor_sid)
        if after.status != status:
            raise DeviceError(f"the challenge is {after.status}, not {status}")
        return after.body

    def answer_push(self, raw: str | bytes | dict[str, Any], status: str) -> dict[str, Any]:
        """Answer the challenge a notification points at (only for a factor on this device)."""
        try:
            pushed = push_payload.parse(raw)
        except ValueError as exc:
            raise DeviceError(str(exc)) from None
        return self.answer(pushed.challenge_sid, status, pushed.factor_sid)
