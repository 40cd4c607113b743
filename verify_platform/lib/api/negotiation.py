"""Content negotiation with a shortcut for what every API client sends.

The API renders JSON only. DRF's negotiation parses the Accept header into media types and
ranks them on every request, to pick from a list of one. For the Accept values clients
actually send (none, `*/*`, `application/json`: the official SDK's) and no `?format=`, the
answer is known: the JSON renderer and `application/json`, exactly what DRF's own
negotiation returns for them. Anything else (other types, parameters such as `indent=`,
`?format=`) still goes through DRF, with its 406 and 404 answers.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN_ACCEPT = frozenset(("*/*", "application/json"))
_JSON = "application/json"


class JsonNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and len(renderers) == 1
            and renderers[0].media_type == _JSON
            and request.META.get("HTTP_ACCEPT", "*/*") in _PLAIN_ACCEPT
            and (
                not request._request.META.get("QUERY_STRING")
                or self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            )
        ):
            return renderers[0], _JSON
        return super().select_renderer(request, renderers, format_suffix)
