"""MessagingConfigurations and Templates through the official `twilio` Node SDK, unchanged,
against the live server (the pinned SDK under var/node-sdk/, installed once by the
`node_twilio` fixture of the Attempts Node test)."""

from __future__ import annotations

from pathlib import Path

from services.builtin_templates import BUILTIN_TEMPLATES
from services.models import Template, TemplateTranslation
from tests.helpers import run_node_sdk
from tests.integration.test_attempts_node_sdk import node_twilio  # noqa: F401 (fixture)

SCRIPT = Path(__file__).resolve().parent / "node" / "resources.js"
MG_ONE, MG_TWO = "MG" + "1" * 32, "MG" + "2" * 32


def test_messaging_configurations_and_templates(
    node_twilio,  # noqa: F811
    live_server,
    tenant,
    other_tenant,
    service,
):
    mine = Template.objects.create(
        account=tenant.account, friendly_name="Acme login", channels=["sms"]
    )
    TemplateTranslation.objects.create(
        template=mine, locale="en", text="Acme: {{code}}", is_default_translation=True
    )
    theirs = Template.objects.create(
        account=other_tenant.account, friendly_name="Acme login", channels=["sms"]
    )
    out = run_node_sdk(
        SCRIPT,
        node_path=node_twilio,
        base_url=live_server.url,
        tenant=tenant,
        OTHER_ACCOUNT_SID=other_tenant.sid,
        OTHER_AUTH_TOKEN=other_tenant.auth_token,
        SERVICE_SID=service.sid,
        MG_ONE=MG_ONE,
        MG_TWO=MG_TWO,
        TEMPLATE_NAME="Acme login",
    )

    url = f"{live_server.url}/v2/Services/{service.sid}/MessagingConfigurations"
    assert out["created"]["country"] == "DE" and out["created"]["messagingServiceSid"] == MG_ONE
    assert out["created"]["accountSid"] == tenant.sid
    assert out["created"]["serviceSid"] == service.sid
    assert out["created"]["url"] == f"{url}/DE"
    assert out["created"]["dateCreated"].endswith("Z")
    assert out["duplicate"] == {"status": 400, "code": 60213}
    assert out["badCountry"] == out["badSid"] == {"status": 400, "code": 60200}
    assert [c["country"] for c in out["listed"]] == ["DE", "all"]
    assert out["updated"]["messagingServiceSid"] == MG_TWO
    assert out["fetched"] == out["updated"]
    assert out["deleted"] is True
    assert out["gone"] == out["foreign"] == {"status": 404, "code": 20404}
    assert out["left"] == ["all"]

    builtins = [b.sid for b in BUILTIN_TEMPLATES]
    assert out["templates"] == [*builtins, mine.sid]
    [named] = out["named"]
    assert named["sid"] == mine.sid and named["friendlyName"] == "Acme login"
    assert named["accountSid"] == tenant.sid and named["channels"] == ["sms"]
    assert named["translations"]["en"]["text"] == "Acme: {{code}}"
    assert named["translations"]["en"]["is_default_translation"] is True
    assert out["otherTemplates"] == [*builtins, theirs.sid]
