"""The site's forms. Each one marks its invalid fields (aria-invalid) and ties each field to
its error and help text (aria-describedby), so a screen reader announces both."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
RECOVERY = re.compile(r"[A-Za-z0-9]{4}(-?[A-Za-z0-9]{4}){3}")


class Described:
    """Sets the ARIA attributes once the form knows its errors, and again when a view adds
    one (the platform's answer comes after validation)."""

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._describe()

    def add_error(self, field: str | None, error: object) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        if getattr(self, "cleaned_data", None) is not None:
            self._describe()

    def _describe(self) -> None:
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            bound = self[name]  # type: ignore[index]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            if bound.errors:
                ids.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)


class SignUpForm(Described, UserCreationForm):
    pass


class SignInForm(Described, AuthenticationForm):
    pass


def _code_input(**extra: str) -> forms.TextInput:
    attrs = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
    return forms.TextInput(attrs={**attrs, **extra})


class CodeForm(Described, forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=10,
        widget=_code_input(inputmode="numeric", pattern="[0-9]*"),
        help_text="The code your app shows, or the code we sent.",
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isascii() or not code.isdigit():
            raise forms.ValidationError("Enter the digits only.")
        return code


class OffForm(Described, forms.Form):
    code = forms.CharField(
        label="Current code or recovery code",
        max_length=19,
        widget=_code_input(),
        help_text="A code from your authenticator app, the code we just texted you, or one of "
        "your recovery codes.",
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().replace(" ", "")
        if not (code.isdigit() or RECOVERY.fullmatch(code)):
            raise forms.ValidationError("Enter a code of digits or a recovery code.")
        return code


class RecoveryForm(Described, forms.Form):
    code = forms.CharField(
        label="Recovery code",
        max_length=19,
        widget=_code_input(),
        help_text="One of the codes you saved, like ABCD-EFGH-JKLM-NPQR. Each works once.",
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().replace(" ", "").upper()
        if not RECOVERY.fullmatch(code):
            raise forms.ValidationError("A recovery code has 16 letters and digits.")
        return code


class AppNameForm(Described, forms.Form):
    name = forms.CharField(
        label="Name for this sign-in method",
        max_length=64,
        initial="My authenticator app",
        help_text="Only you see it, in your list of sign-in methods.",
    )


class PhoneForm(Described, forms.Form):
    phone_number = forms.CharField(
        label="Mobile number",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text="In international format, starting with + and the country code, "
        "e.g. +447700900123.",
    )

    def clean_phone_number(self) -> str:
        number = self.cleaned_data["phone_number"].replace(" ", "")
        if not E164.fullmatch(number):
            raise forms.ValidationError("Start with + and the country code, digits only.")
        return number
