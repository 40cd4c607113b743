"""What a browser session holds between two requests of one journey: the user whose
password was right (waiting for the second step), the challenge or factor in progress, and
a fresh set of recovery codes until the user has seen them. Nothing here outlives the
session, and the password-checked user expires after SECOND_STEP_SECONDS."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from twostep.models import Profile

PENDING = "twostep_pending_user"
CHALLENGE = "twostep_challenge"
ENROL = "twostep_enrol"
CODES = "twostep_fresh_codes"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def identity_of(user: AbstractBaseUser) -> str:
    profile, _ = Profile.objects.get_or_create(user=user)
    return str(profile.identity)


def user_of(identity: str) -> AbstractBaseUser | None:
    profile = Profile.objects.select_related("user").filter(identity=identity).first()
    return profile.user if profile is not None and profile.user.is_active else None


def pending_set(request: HttpRequest, user: AbstractBaseUser) -> None:
    request.session.cycle_key()  # a new session id once the password was right
    request.session[PENDING] = {"user": user.pk, "at": time.time()}


def pending_user(request: HttpRequest) -> AbstractBaseUser | None:
    """The user whose password was right, while the second step is still open."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > settings.SECOND_STEP_SECONDS:
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def sign_in(request: HttpRequest, user: AbstractBaseUser) -> None:
    """Both steps done: Django's login (which rotates the session id) and nothing pending."""
    for key in (PENDING, CHALLENGE, ENROL):
        request.session.pop(key, None)
    login(request, user, backend=BACKEND)


def challenge_set(request: HttpRequest, purpose: str, sid: str, factor_sid: str = "") -> None:
    request.session[CHALLENGE] = {"purpose": purpose, "sid": sid, "factor": factor_sid}


def challenge_take(request: HttpRequest, purpose: str, factor_sid: str = "") -> str | None:
    """The challenge this session started for `purpose` (and factor), if any."""
    held = request.session.get(CHALLENGE)
    if not held or held["purpose"] != purpose:
        return None
    if factor_sid and held["factor"] != factor_sid:
        return None
    return held["sid"]


def challenge_clear(request: HttpRequest) -> None:
    request.session.pop(CHALLENGE, None)


def enrol_set(request: HttpRequest, factor_type: str, sid: str) -> None:
    request.session[ENROL] = {"type": factor_type, "sid": sid}


def enrol_get(request: HttpRequest, factor_type: str) -> str | None:
    held = request.session.get(ENROL)
    return held["sid"] if held and held["type"] == factor_type else None


def enrol_clear(request: HttpRequest) -> None:
    request.session.pop(ENROL, None)
