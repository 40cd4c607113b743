"""Signing up and signing in: the password, then the second step the user chooses (a code
from their authenticator app, a code sent by SMS, a passkey, or a recovery code). The
passkey steps are in views_passkeys.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from twostep import platform, session
from twostep.forms import CodeForm, RecoveryForm, SignInForm, SignUpForm


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("account")
    return render(request, "twostep/home.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        try:
            platform.entity_create(session.identity_of(user))
        except platform.PlatformError as error:
            messages.error(request, error.message)
        session.sign_in(request, user)
        messages.success(request, "Your account is ready. Now protect it with a second step.")
        return redirect("account")
    return render(request, "twostep/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        try:
            steps = platform.second_steps(session.identity_of(user))
        except platform.PlatformError as error:
            form.add_error(None, error.message)
        else:
            if not steps:
                session.sign_in(request, user)
                return redirect("account")
            session.pending_set(request, user)
            return redirect("second_step")
    return render(request, "twostep/signin.html", {"form": form})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("home")


def _pending_or_restart(request: HttpRequest):
    user = session.pending_user(request)
    if user is None:
        messages.error(request, "Your sign-in took too long. Please enter your password again.")
    return user


@require_http_methods(["GET"])
def second_step(request: HttpRequest) -> HttpResponse:
    user = _pending_or_restart(request)
    if user is None:
        return redirect("login")
    identity = session.identity_of(user)
    try:
        steps = platform.second_steps(identity)
        has_recovery = platform.recovery_factor(identity) is not None
    except platform.PlatformError as error:
        messages.error(request, error.message)
        return redirect("login")
    return render(
        request,
        "twostep/second_step.html",
        {"steps": steps, "has_recovery": has_recovery, "has_passkey": _has(steps, "passkeys")},
    )


def _has(steps: list[platform.Factor], factor_type: str) -> bool:
    return any(f.factor_type == factor_type for f in steps)


def _step_factor(request: HttpRequest, factor_sid: str):
    """The pending user and their verified factor `factor_sid`, or (None, None)."""
    user = _pending_or_restart(request)
    if user is None:
        return None, None
    steps = platform.second_steps(session.identity_of(user))
    return user, next((f for f in steps if f.sid == factor_sid), None)


@require_POST
def send_sms(request: HttpRequest, factor_sid: str) -> HttpResponse:
    user, factor = _step_factor(request, factor_sid)
    if user is None or factor is None or factor.factor_type != "sms":
        return redirect("login" if user is None else "second_step")
    try:
        sid = platform.sms_challenge(session.identity_of(user), factor.sid)
    except platform.PlatformError as error:
        messages.error(request, error.message)
        return redirect("second_step")
    session.challenge_set(request, "sign-in", sid, factor.sid)
    messages.info(request, f"We sent a code to {factor.config.get('phone_number', 'your phone')}.")
    return redirect("enter_code", factor_sid=factor.sid)


@require_http_methods(["GET", "POST"])
def enter_code(request: HttpRequest, factor_sid: str) -> HttpResponse:
    user, factor = _step_factor(request, factor_sid)
    if user is None or factor is None or factor.factor_type not in ("totp", "sms"):
        return redirect("login" if user is None else "second_step")
    identity = session.identity_of(user)
    form = CodeForm(request.POST or None)
    if factor.factor_type == "totp":
        form.fields["code"].help_text = "The 6-digit code your authenticator app shows now."
    else:
        form.fields["code"].help_text = "The code we texted to you."
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if factor.factor_type == "totp":
                approved = platform.code_check(identity, factor.sid, code)
            else:
                challenge = session.challenge_take(request, "sign-in", factor.sid)
                if challenge is None:
                    return redirect("second_step")
                approved = platform.challenge_answer(identity, challenge, code)
        except platform.PlatformError as error:
            form.add_error("code", error.message)
        else:
            if approved:
                session.sign_in(request, user)
                messages.success(request, "You are signed in.")
                return redirect("account")
            form.add_error("code", "That code did not work. Check it and try again.")
    return render(request, "twostep/enter_code.html", {"form": form, "factor": factor})


@require_http_methods(["GET", "POST"])
def use_recovery_code(request: HttpRequest) -> HttpResponse:
    user = _pending_or_restart(request)
    if user is None:
        return redirect("login")
    identity = session.identity_of(user)
    form = RecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recovery = platform.recovery_factor(identity)
            approved = recovery is not None and platform.code_check(
                identity, recovery.sid, form.cleaned_data["code"]
            )
        except platform.PlatformError as error:
            form.add_error("code", error.message)
        else:
            if approved:
                session.sign_in(request, user)
                left = platform.recovery_factor(identity)
                remaining = left.config.get("remaining") if left else 0
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {remaining} codes are left. "
                    "Make a new set if you are running low.",
                )
                return redirect("account")
            form.add_error("code", "That recovery code did not work (each works only once).")
    return render(request, "twostep/recovery_sign_in.html", {"form": form})
