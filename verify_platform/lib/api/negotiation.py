"""Content negotiation for a JSON-only API: every answer is JSON, whatever `Accept` says.

Twilio's API answers JSON to every client, and so does this one: a client that sends
`Accept: text/html` (a browser) or `?format=xml` gets the JSON it would have got without them,
not DRF's 406 (which the error handler did not know, so it became a 500) or 404. Skipping DRF's
negotiation also saves parsing and ranking the Accept header on every request to choose from a
list of one. With more than one renderer configured, DRF decides as usual.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_JSON = "application/json"


class JsonNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and renderers[0].media_type == _JSON:
            return renderers[0], _JSON
        return super().select_renderer(request, renderers, format_suffix)
