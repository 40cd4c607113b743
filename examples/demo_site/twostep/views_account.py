"""The signed-in user's security page: turn on a second step (authenticator app, SMS, or a
passkey in views_passkeys.py), see a new set of recovery codes once, and turn 2-step
verification off with a current code."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from twostep import platform, session
from twostep.forms import RECOVERY, AppNameForm, CodeForm, OffForm, PhoneForm


def enrolment_done(request: HttpRequest, identity: str, what: str) -> HttpResponse:
    """After the first factor, the user gets recovery codes; afterwards, the account page."""
    session.enrol_clear(request)
    messages.success(request, f"{what} is on.")
    if platform.recovery_factor(identity) is None:
        request.session[session.CODES] = platform.recovery_codes_new(identity)
        return redirect("recovery_codes")
    return redirect("account")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    request.session.pop(session.CODES, None)  # shown once: gone when the user moves on
    identity = session.identity_of(request.user)
    try:
        found = platform.factors(identity)
    except platform.PlatformError as error:
        messages.error(request, error.message)
        found = []
    verified = [f for f in found if f.status == "verified" and f.factor_type != "recovery_codes"]
    recovery = next((f for f in found if f.factor_type == "recovery_codes"), None)
    return render(
        request,
        "twostep/account.html",
        {"factors": verified, "recovery": recovery, "on": bool(verified)},
    )


def _qr_svg(uri: str) -> str:
    """The key URI as an inline SVG, drawn here: no image service ever sees the secret."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, omitsize=True, svgclass="qr", lineclass=None, title="QR code"
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup of a URI we made


@login_required
@require_http_methods(["GET", "POST"])
def app_start(request: HttpRequest) -> HttpResponse:
    form = AppNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identity = session.identity_of(request.user)
        try:
            sid, secret, uri = platform.totp_start(identity, form.cleaned_data["name"])
        except platform.PlatformError as error:
            form.add_error(None, error.message)
        else:
            session.enrol_set(request, "totp", sid)
            context = {"qr": _qr_svg(uri), "secret": secret, "form": CodeForm()}
            return render(request, "twostep/app_scan.html", context)
    return render(request, "twostep/app_start.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def app_confirm(request: HttpRequest) -> HttpResponse:
    return _confirm(request, "totp", "Authenticator app sign-in", "twostep/app_scan.html")


@login_required
@require_http_methods(["GET", "POST"])
def phone_start(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identity = session.identity_of(request.user)
        try:
            sid = platform.sms_start(identity, "My phone", form.cleaned_data["phone_number"])
        except platform.PlatformError as error:
            form.add_error("phone_number", error.message)
        else:
            session.enrol_set(request, "sms", sid)
            messages.info(request, "We sent a code to your phone.")
            return redirect("phone_confirm")
    return render(request, "twostep/phone_start.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def phone_confirm(request: HttpRequest) -> HttpResponse:
    return _confirm(request, "sms", "Text message sign-in", "twostep/phone_confirm.html")


def _confirm(request: HttpRequest, factor_type: str, what: str, template: str) -> HttpResponse:
    """The first code of a new factor: right, and the factor is verified."""
    sid = session.enrol_get(request, factor_type)
    if sid is None:
        messages.error(request, "Please start again.")
        return redirect("account")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identity = session.identity_of(request.user)
        try:
            verified = platform.factor_verify(identity, sid, form.cleaned_data["code"])
        except platform.PlatformError as error:
            form.add_error("code", error.message)
        else:
            if verified:
                return enrolment_done(request, identity, what)
            form.add_error("code", "That code did not work. Try the code shown now.")
    return render(request, template, {"form": form, "confirming": True})


@login_required
@require_POST
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    identity = session.identity_of(request.user)
    try:
        request.session[session.CODES] = platform.recovery_codes_new(identity)
    except platform.PlatformError as error:
        messages.error(request, error.message)
        return redirect("account")
    return redirect("recovery_codes")


@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = request.session.get(session.CODES)
    return render(request, "twostep/recovery_codes.html", {"codes": codes})


@login_required
def recovery_codes_download(request: HttpRequest) -> HttpResponse:
    codes = request.session.get(session.CODES)
    if not codes:
        raise Http404("Recovery codes are shown only once.")
    lines = [f"Recovery codes for {request.user.get_username()} (each works once):", "", *codes]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="recovery-codes.txt"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def turn_off(request: HttpRequest) -> HttpResponse:
    identity = session.identity_of(request.user)
    found = platform.factors(identity)
    verified = [f for f in found if f.status == "verified"]
    form = OffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approved = _current_code_ok(request, identity, verified, form.cleaned_data["code"])
        except platform.PlatformError as error:
            form.add_error("code", error.message)
        else:
            if approved:
                for factor in found:
                    platform.factor_delete(identity, factor.sid)
                session.challenge_clear(request)
                messages.success(request, "2-step verification is off.")
                return redirect("account")
            form.add_error("code", "That code did not work. Check it and try again.")
    sms = next((f for f in verified if f.factor_type == "sms"), None)
    return render(request, "twostep/turn_off.html", {"form": form, "sms": sms})


def _current_code_ok(request: HttpRequest, identity: str, verified: list, code: str) -> bool:
    """A recovery code, the code texted for this purpose, or the authenticator's code now."""
    by_type = {f.factor_type: f for f in verified}
    if RECOVERY.fullmatch(code):
        factor = by_type.get("recovery_codes")
        return factor is not None and platform.code_check(identity, factor.sid, code.upper())
    texted = by_type.get("sms") and session.challenge_take(request, "turn-off")
    if texted:
        return platform.challenge_answer(identity, texted, code)
    factor = by_type.get("totp")
    return factor is not None and platform.code_check(identity, factor.sid, code)


@login_required
@require_POST
def turn_off_sms(request: HttpRequest) -> HttpResponse:
    identity = session.identity_of(request.user)
    sms = next((f for f in platform.second_steps(identity) if f.factor_type == "sms"), None)
    if sms is not None:
        try:
            sid = platform.sms_challenge(identity, sms.sid)
        except platform.PlatformError as error:
            messages.error(request, error.message)
        else:
            session.challenge_set(request, "turn-off", sid, sms.sid)
            messages.info(request, "We sent a code to your phone.")
    return redirect("turn_off")
