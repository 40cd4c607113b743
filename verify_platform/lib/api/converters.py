"""Path converters: a path parameter that is not well formed never reaches a view.

Form fields are validated before anything reads them; path parameters are checked here, in
the URL patterns, so that every route (and every route added later) gets the same checks
without a line in its view. A segment that does not match falls through to the API's
catch-all, which answers Twilio's 404 (20404), as for any identifier that does not exist.

- `<sid:…>`: a Twilio SID, two capitals and 32 lower-case hex digits. Anything else cannot
  name a row, so it is answered without a query.
- `<text:…>`: an identity, a phone number or a `To` in place of a SID: 1 to 256 characters,
  no `/`, no C0 control character or DEL. PostgreSQL cannot store NUL (a query with one
  raises), CR/LF would forge log lines, and nothing legitimate is longer (an e-mail address
  is at most 254). The view still checks the value's own shape where it has one.

Registering happens on import; the URL modules import this module before their patterns.
Non-printable characters anywhere in a path (also outside the API) are refused earlier, by
`verify_platform.lib.api.middleware.RequestLimitsMiddleware`.
"""

from __future__ import annotations

from django.urls import register_converter

TEXT_MAX_LENGTH = 256


class SidConverter:
    regex = "[A-Z]{2}[0-9a-f]{32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TextConverter:
    regex = f"[^/\\x00-\\x1f\\x7f]{{1,{TEXT_MAX_LENGTH}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SidConverter, "sid")
register_converter(TextConverter, "text")
