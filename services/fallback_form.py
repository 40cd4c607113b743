"""The Service's Fallback plan as a form of steps (a channel and a timeout per row) for the
operator console, instead of raw JSON.

The rows are plain inputs, one per possible step (`FALLBACK_MAX_STEPS`), so the form works
without a script: a row whose channel is left empty is no step, so clearing a row removes
it and filling an empty one adds one. The steps are validated by the very field the API
uses for `Fallback` (`services.api.serializers.FallbackField`), so the console can store
nothing the API would refuse.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from rest_framework import serializers

from services.api.serializers import (
    FALLBACK_CHANNELS,
    FALLBACK_MAX_STEPS,
    FALLBACK_TIMEOUT_RANGE,
    FallbackField,
)

CHANNEL_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "call": "Voice call", "email": "E-mail"}


class FallbackStepsWidget(forms.Widget):
    """Rows of `<name>-<i>-channel` (a select) and `<name>-<i>-timeout` (seconds)."""

    template_name = "admin/verify/fallback_steps.html"
    rows = FALLBACK_MAX_STEPS

    def format_value(self, value: Any) -> list[dict[str, Any]]:
        if isinstance(value, str):
            try:
                value = json.loads(value or "[]")
            except ValueError:
                value = []
        return [step for step in value or [] if isinstance(step, dict)]

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        steps = context["widget"]["value"]
        low, high = FALLBACK_TIMEOUT_RANGE
        context["widget"].update(
            {
                "channels": [("", "(no step)")]
                + [(c, CHANNEL_LABELS.get(c, c)) for c in FALLBACK_CHANNELS],
                "timeout_min": low,
                "timeout_max": high,
                "rows": [
                    {
                        "number": index + 1,
                        "channel": steps[index].get("channel", "") if index < len(steps) else "",
                        "timeout": steps[index].get("timeout", "") if index < len(steps) else "",
                        "prefix": f"{name}-{index}",
                    }
                    for index in range(self.rows)
                ],
            }
        )
        return context

    def value_from_datadict(self, data, files, name: str) -> list[dict[str, str]]:
        steps = []
        for index in range(self.rows):
            channel = (data.get(f"{name}-{index}-channel") or "").strip()
            timeout = (data.get(f"{name}-{index}-timeout") or "").strip()
            if channel or timeout:
                steps.append({"channel": channel, "timeout": timeout})
        return steps

    def value_omitted_from_data(self, data, files, name: str) -> bool:
        return not any(f"{name}-{index}-channel" in data for index in range(self.rows))


class FallbackStepsField(forms.Field):
    """A list of `{"channel", "timeout"}` steps, as the API stores `Fallback`."""

    widget = FallbackStepsWidget

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        steps = []
        for number, step in enumerate(value or [], start=1):
            timeout = step.get("timeout", "")
            if isinstance(timeout, str):
                if timeout and not timeout.isdigit():
                    raise forms.ValidationError(
                        "Step %(number)s: the timeout is whole seconds.",
                        code="invalid",
                        params={"number": number},
                    )
                timeout = int(timeout) if timeout else None
            steps.append(
                {
                    "channel": step.get("channel", ""),
                    **({"timeout": timeout} if timeout is not None else {}),
                }
            )
        return steps

    def validate(self, value: list[dict[str, Any]]) -> None:
        super().validate(value)
        try:
            FallbackField().to_internal_value(json.dumps(value))
        except serializers.ValidationError as error:
            raise forms.ValidationError(
                [str(detail) for detail in error.detail], code="invalid"
            ) from error

    def clean(self, value: Any) -> list[dict[str, Any]]:
        steps = super().clean(value)
        return FallbackField().to_internal_value(json.dumps(steps))

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(initial or []) != self.to_python(data)
        except forms.ValidationError:
            return True
