"""The README's Python snippets, run as written, in order and in one namespace, against a live
server: a snippet that names something no earlier snippet defined fails here with its
NameError, and every `# -> ...` comment must be what the `print` before it printed.

Only three things are replaced, each of which must be found: the Account SID and auth token
placeholders (`make run` prints the real ones) and the base URL. `input()`, which a reader
answers with the code `make run` printed, is answered here with the code the locmem channel
captured once the due sends have run (what the worker would do)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.challenges.conftest import locmem_channels, run_due  # noqa: F401 - a fixture

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXPECTED = re.compile(r"^# -> (.*)$", re.MULTILINE)


def readme_snippets() -> list[str]:
    """Each snippet preceded by blank lines up to its place, so that a traceback names the
    README's own line."""
    text = README.read_text()
    return [
        "\n" * text.count("\n", 0, match.start(1)) + match.group(1)
        for match in BLOCK.finditer(text)
    ]


def test_the_snippets_cover_what_the_readme_promises():
    """The snippets a first user copies: the SDK client, TOTP, recovery codes, the Service's
    Fallback and phone factors (a test that found no snippet would prove nothing)."""
    code = "\n".join(readme_snippets())
    for needle in (
        'Client("AC..."',
        'factor_type="totp"',
        'factor_type="recovery_codes"',
        '"Fallback"',
        '"Binding.PhoneNumber"',
        'config["remaining"]',
    ):
        assert needle in code, needle


@pytest.mark.usefixtures("locmem_channels")
def test_the_readme_python_snippets_run_against_a_live_server(live_server, tenant):
    from channels.adapters import locmem

    snippets = readme_snippets()
    for placeholder, value in (
        ('"AC..."', repr(tenant.account.sid)),
        ('"auth-token-printed-by-make-run"', repr(tenant.auth_token)),
        ('"http://127.0.0.1:8000"', repr(live_server.url)),
    ):
        assert sum(s.count(placeholder) for s in snippets) == 1, placeholder
        snippets = [s.replace(placeholder, value) for s in snippets]

    printed: list[str] = []

    def answer(_prompt: str = "") -> str:
        run_due()
        assert locmem.outbox, "no code was sent"
        return locmem.outbox[-1].code

    namespace = {
        "__name__": "readme",
        "print": lambda *values: printed.append(" ".join(map(str, values))),
        "input": answer,
    }
    for snippet in snippets:
        exec(compile(snippet, str(README), "exec"), namespace)
    assert printed == EXPECTED.findall("\n".join(snippets))
