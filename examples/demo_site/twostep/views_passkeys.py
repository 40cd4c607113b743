"""Passkeys: the small JSON endpoints the page's script (static/twostep/passkeys.js) calls
around `navigator.credentials.create()` and `.get()`. The platform builds the WebAuthn
options and checks every answer; the site only carries them, and checks that the challenge
the platform approved is the one this browser session asked for."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from twostep import platform, session
from twostep.views_account import enrolment_done

MAX_BODY = 64 * 1024


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        return {}
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refused(message: str, status: int = 400, code: int | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status)


@login_required
def add_passkey(request: HttpRequest) -> HttpResponse:
    return render(request, "twostep/passkey_add.html")


@login_required
@require_POST
def register_options(request: HttpRequest) -> JsonResponse:
    name = str(_body(request).get("name") or "My passkey").strip()[:64] or "My passkey"
    try:
        sid, options = platform.passkey_start(session.identity_of(request.user), name)
    except platform.PlatformError as error:
        return _refused(error.message, code=error.code)
    session.enrol_set(request, "passkeys", sid)
    return JsonResponse({"options": options})


@login_required
@require_POST
def register_verify(request: HttpRequest) -> JsonResponse:
    expected = session.enrol_get(request, "passkeys")
    if expected is None:
        return _refused("Please start again.")
    try:
        sid, status = platform.passkey_verify(_body(request))
    except platform.PlatformError as error:
        return _refused(error.message, code=error.code)
    if sid != expected or status != "verified":
        return _refused("This passkey could not be added. Please start again.")
    identity = session.identity_of(request.user)
    response = enrolment_done(request, identity, "Passkey sign-in")
    return JsonResponse({"redirect": response["Location"]})


@require_POST
def sign_in_options(request: HttpRequest) -> JsonResponse:
    """A challenge for the user whose password was right (the second step), or, with nobody
    pending, for any passkey of the site: the usernameless sign-in."""
    pending = session.pending_user(request)
    identity = session.identity_of(pending) if pending is not None else None
    try:
        sid, options = platform.passkey_challenge(identity)
    except platform.PlatformError as error:
        return _refused(error.message, code=error.code)
    session.challenge_set(request, "passkey", sid)
    return JsonResponse({"options": options})


@require_POST
def sign_in_verify(request: HttpRequest) -> JsonResponse:
    expected = session.challenge_take(request, "passkey")
    if expected is None:
        return _refused("Please start the sign-in again.")
    try:
        approved = platform.passkey_approve(_body(request))
    except platform.PlatformError as error:
        return _refused(f"This passkey was not accepted. {error.message}", code=error.code)
    session.challenge_clear(request)
    if approved.sid != expected or approved.status != "approved":
        return _refused("This passkey was not accepted. Please start again.")
    user = session.user_of(approved.identity)
    pending = session.pending_user(request)
    if user is None or (pending is not None and pending.pk != user.pk):
        return _refused("This passkey belongs to another account.", status=403)
    session.sign_in(request, user)
    messages.success(request, "You are signed in with your passkey.")
    return JsonResponse({"redirect": reverse("account")})
