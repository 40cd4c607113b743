"""What the OpenAPI tests (tests/test_openapi_fuzz.py, tests/test_openapi_rules.py) share:
the refusals they excuse, each with its reason, and values of a JSON parameter drawn from
its `contentSchema`.

Entries are (operationId, error code, words of the message); `parameter` names the refused
parameter where the message names one ("Invalid parameter `X`")."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import strategies as st

# (operationId, error code, words of the message): 400s that depend on the state the
# request meets, not on its shape, so no schema can say them.
STATE_DEPENDENT: list[tuple[str, int, str]] = [
    # A rate limit holds at most a few buckets; the fixture's rate limit has one already.
    ("CreateBucket", 60210, "Max Buckets per Rate limit reached"),
    # Names and intervals are unique: the second create with the same one is refused.
    ("CreateRateLimit", 60208, "already exists"),
    ("CreateBucket", 60211, "already exists"),
    ("CreateMessagingConfiguration", 60213, "already exists"),
    # A service holds at most a few rate limits (VERIFY_RATE_LIMITS MAX_PER_SERVICE).
    ("CreateRateLimit", 60207, "Max rate limits per service reached"),
    # RateLimits names the service's own rate limits: any other name is refused.
    ("CreateVerification", 60200, "the service has no rate limit"),
    # A template SID names a template the account may use, or is refused.
    ("CreateService", 60200, "no template with this SID"),
    ("UpdateService", 60200, "no template with this SID"),
    ("CreateVerification", 60200, "no template with this SID"),
    # "At most 60 minutes from now": which dates pass depends on the clock.
    ("CreateChallenge", 60200, "`ExpirationDate`"),
]

# (operationId, error code, words of the message): disagreements in forms maintained
# elsewhere, excluded from the assertion until their forms say their rules in the schema
# (with `verify_platform.lib.api.forms.Pattern`, `OneOf` or `json_string_schema`).
# Remove an entry once its form is fixed.
KNOWN_DISAGREEMENTS: list[tuple[str, int, str]] = [
    # challenges/api/attempt_serializers.py: function validators, no pattern/enum.
    ("ListVerificationAttempt", 60200, "`Country`"),
    ("ListVerificationAttempt", 60200, "`Channel`"),
    ("ListVerificationAttempt", 60200, "`ChannelData.To`"),
    ("ListVerificationAttempt", 60200, "`Status`"),
    ("FetchVerificationAttemptsSummary", 60200, "`Country`"),
    ("FetchVerificationAttemptsSummary", 60200, "`Channel`"),
    ("FetchVerificationAttemptsSummary", 60200, "`DestinationPrefix`"),
    # challenges/api/verification_serializers.py: `_channel`, `_code`, `_update_status`.
    ("CreateVerification", 60200, "`Channel`"),
    ("CreateVerification", 60200, "`Locale`"),
    ("CreateVerification", 60200, "`CustomFriendlyName`"),
    ("CreateVerification", 60200, "`CustomCode`"),
    ("CreateVerification", 60200, "`AppHash`"),
    # `RateLimits` values must be strings or integers of 1 to 256 characters (limits/domain.py);
    # the field says any JSON object (it wants `string_values` or a content schema).
    ("CreateVerification", 60200, "`RateLimits`"),
    # challenges/api/verification_forms.py (new parameters): `_printable` (Amount, Payee),
    # `_send_digits`, `_device_ip`, `_tags`/`_substitutions` (key pattern, lengths, count),
    # `_refused` (CustomMessage, Templates, SnaClientToken: use `Refused`), and the service's
    # Psd2Enabled for Amount/Payee (state; the message should then not name a shape).
    ("CreateVerification", 60200, "`Amount`"),
    ("CreateVerification", 60200, "`Payee`"),
    ("CreateVerification", 60200, "`SendDigits`"),
    ("CreateVerification", 60200, "`DeviceIp`"),
    ("CreateVerification", 60200, "`Tags`"),
    ("CreateVerification", 60200, "`TemplateCustomSubstitutions`"),
    ("CreateVerification", 60200, "`ChannelConfiguration`"),
    ("CreateVerification", 60200, "`CustomMessage`"),
    ("CreateVerification", 60200, "`Templates`"),
    ("CreateVerification", 60200, "`TemplateSid`"),
    ("CreateVerificationCheck", 60200, "`SnaClientToken`"),
    ("CreateVerificationCheck", 60200, "`Amount`"),
    ("CreateVerificationCheck", 60200, "`Payee`"),
    # services/api/serializers.py: `VerifyEventSubscriptionEnabled` accepts only false
    # (`OneOf` or an enum of [false] would say it).
    ("CreateService", 60200, "`VerifyEventSubscriptionEnabled`"),
    ("UpdateService", 60200, "`VerifyEventSubscriptionEnabled`"),
    ("CreateVerificationCheck", 60200, "`Code`"),
    ("UpdateVerification", 60200, "`Status`"),
    # challenges/api/serializers.py: `DetailFieldItem` says only "string"; `AuthPayload`
    # says no shape (digits, a recovery code).
    ("CreateChallenge", 60200, "`Details.Fields`"),
    ("CreateChallenge", 60200, "`AuthPayload`"),
    ("UpdateChallenge", 60200, "`AuthPayload`"),
    # limits/api/serializers.py: `UniqueName` (the domain's pattern), `PhoneNumber` (E.164).
    ("CreateRateLimit", 60209, "UniqueName format is invalid"),
    ("CreateSafelist", 60200, "`PhoneNumber`"),
    # factors/api/serializers.py: `Binding.PhoneNumber` (E.164), `Binding.Secret` (base32).
    ("CreateNewFactor", 60200, "`Binding.PhoneNumber`"),
    ("CreateNewFactor", 60200, "`Binding.Secret`"),
    # services/webhooks/api/serializers.py: `WebhookUrl` (absolute http/https URL).
    ("CreateWebhook", 60200, "`WebhookUrl`"),
    ("UpdateWebhook", 60200, "`WebhookUrl`"),
    # services/api/serializers.py: `FallbackField` is a JSON list typed as any string.
    ("CreateService", 60200, "`Fallback`"),
    ("UpdateService", 60200, "`Fallback`"),
]


def known_parameters() -> set[tuple[str, str]]:
    """(operationId, parameter) of every excused refusal that names its parameter."""
    return {
        (operation_id, words.strip("`"))
        for operation_id, _, words in STATE_DEPENDENT + KNOWN_DISAGREEMENTS
        if words.startswith("`")
    }


def json_values(content: dict, depth: int = 0, root: dict | None = None) -> st.SearchStrategy:
    """Values of a JSON Schema (the subset `contentSchema` uses here: types, enum, pattern,
    lengths, properties, anyOf, local `$ref`s): schemathesis reads `contentMediaType` but not
    `contentSchema`, so the content of a JSON parameter is drawn from its `contentSchema`
    here, and the rest of the request by schemathesis. Nesting stops at depth 3."""
    root = content if root is None else root
    if "$ref" in content:
        name = content["$ref"].rsplit("/", 1)[1]
        return json_values(root["$defs"][name], depth, root)
    if "anyOf" in content:
        branches = content["anyOf"]
        if depth >= 3:
            branches = [b for b in branches if b.get("type") not in ("array", "object")]
        return st.one_of([json_values(branch, depth, root) for branch in branches])
    if "enum" in content:
        return st.sampled_from(content["enum"])
    kind = content.get("type")
    if isinstance(kind, list):
        return st.one_of([json_values({**content, "type": k}, depth, root) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "number":
        return st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "string":
        text = (
            st.from_regex(content["pattern"], fullmatch=True) if "pattern" in content else st.text()
        )
        low, high = content.get("minLength", 0), content.get("maxLength", 40)
        return text.filter(lambda value: low <= len(value) <= high)
    if kind == "integer":
        return st.integers(content.get("minimum"), content.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = json_values(content.get("items", {}), depth + 1, root)
        return st.lists(items, max_size=min(content.get("maxItems", 3), 3))
    if kind == "object":
        properties = content.get("properties", {})
        required = set(content.get("required", ()))
        fixed = {k: json_values(v, depth + 1, root) for k, v in properties.items() if k in required}
        optional = {
            k: json_values(v, depth + 1, root) for k, v in properties.items() if k not in required
        }
        extra = content.get("additionalProperties", {})
        objects = st.fixed_dictionaries(fixed, optional=optional)
        if extra is False:
            return objects
        names = json_values({"type": "string", **content.get("propertyNames", {})}, depth, root)
        more = st.dictionaries(names, json_values(extra, depth + 1, root), max_size=3)
        return st.tuples(more, objects).map(lambda pair: {**pair[0], **pair[1]})
    # No type: any JSON value the schema does not restrict.
    return json_values({"type": ["null", "boolean", "integer", "string"]}, depth, root)


def json_text(
    prop: dict, resolve: Callable[[dict], dict] = lambda node: node
) -> st.SearchStrategy | None:
    """Text of a JSON parameter (or of each item of a list of them), or None; `resolve`
    follows a `$ref` of the schema it comes from."""
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        item = json_text(resolve(prop["items"]), resolve)
        if item is None:
            return None
        return st.lists(item, min_size=max(prop.get("minItems", 0), 1), max_size=3)
    if prop.get("contentMediaType") != "application/json" or "contentSchema" not in prop:
        return None
    limit = prop.get("maxLength", 4096)
    return json_values(prop["contentSchema"]).map(json.dumps).filter(lambda t: len(t) <= limit)
