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
    # Push.ApnCredentialSid / Push.FcmCredentialSid name a credential of the account.
    ("CreateService", 60200, "no push credential with this SID"),
    ("UpdateService", 60200, "no push credential with this SID"),
    ("CreateVerification", 60200, "no template with this SID"),
    # "At most 60 minutes from now": which dates pass depends on the clock.
    ("CreateChallenge", 60200, "`ExpirationDate`"),
    # Custom codes and PSD2 parameters need the service's CustomCodeEnabled, Psd2Enabled.
    ("CreateVerification", 60200, "custom codes are not enabled for this service"),
    ("CreateVerification", 60200, "requires the service's Psd2Enabled"),
    # How many digits a code has is the factor's (`Config.CodeLength`); the schema says 3 to 10.
    ("CreateChallenge", 60200, "`AuthPayload`: must be exactly"),
    ("UpdateChallenge", 60200, "`AuthPayload`: must be exactly"),
    # Notifications go to pending push challenges of factors with a provider, not to others.
    ("CreateNotification", 60200, "Notifications are sent for pending push challenges only"),
    ("CreateNotification", 60200, "notification platform is none"),
    # Passkeys: a factor's authenticator criteria and relying party come from the request's
    # `config` or else from the Service's settings; a challenge needs the Service's.
    ("CreateNewFactorPasskey", 60393, "Authenticator criteria are missing"),
    ("CreateNewFactorPasskey", 60371, "Relying party invalid"),
    ("CreateChallengePasskeys", 60394, "Service passkeys configuration is missing"),
    # What the browser wrote inside a credential (base64url of the client data's JSON) is
    # read by WebAuthn, not stated by a pattern: text the schema allows may decode to none.
    ("UpdatePasskeysFactor", 60200, "must be the base64url clientDataJSON"),
    ("UpdateChallengePasskeys", 60200, "must be the base64url clientDataJSON"),
    # Twilio's FactorType enum names `passkeys` on the form create too; a passkey is made
    # with the JSON Passkeys/Factors operation, which this answer points to.
    ("CreateNewFactor", 60200, "a passkey is created with Passkeys/Factors"),
]

# (operationId, error code, words of the message): 400s for a combination of parameters that
# are each valid on their own (an option of one channel sent with another, half of a PSD2
# pair). A form's schema states each parameter, not how they combine.
CROSS_PARAMETER: list[tuple[str, int, str]] = [
    # A check names its verification by one of the two.
    ("CreateVerificationCheck", 60200, "To or VerificationSid is required"),
    # `To` is an address for email, a number for sms, whatsapp and call.
    ("CreateVerification", 60200, "`To`: must be an e-mail address for email"),
    ("CreateVerification", 60200, "`To`: must be a phone number for"),
    # PSD2 links a transaction: both or neither.
    ("CreateVerification", 60200, "PSD2 needs both Amount and Payee"),
    # Options of some channels only (`VerificationCreateForm._channel_options`).
    ("CreateVerification", 60200, "`SendDigits`: applies to the call channel only"),
    ("CreateVerification", 60200, "`TemplateSid`: applies to sms and call only"),
    ("CreateVerification", 60200, "`AppHash`: applies to sms only"),
    ("CreateVerification", 60200, "`RiskCheck`: applies to sms only"),
    ("CreateVerification", 60200, "`ChannelConfiguration`: applies to the email channel only"),
    # A push factor needs its key and its app; apn and fcm need a token to send to.
    ("CreateNewFactor", 60200, "a push factor needs Binding.Alg and Binding.PublicKey"),
    ("CreateNewFactor", 60200, "`Config.AppId`: required for push"),
    ("CreateNewFactor", 60200, "`Config.NotificationPlatform`: required for push"),
    ("CreateNewFactor", 60200, "`Config.NotificationToken`: required for"),
    ("UpdateFactor", 60200, "`Config.NotificationToken`: required for"),
]

# (operationId, error code, words of the message): the one rule no pattern can state. A phone
# number of E.164 shape is a number only if a numbering plan assigns it (phonenumbers' data):
# the schema publishes the shape, and the server refuses numbers nobody can be given.
UNASSIGNED_NUMBERS: list[tuple[str, int, str]] = [
    ("CreateVerification", 60200, "no numbering plan assigns this number"),
    ("CreateVerificationCheck", 60200, "no numbering plan assigns this number"),
    ("ListVerificationAttempt", 60200, "no numbering plan assigns this number"),
    # The domains' own words (`limits.domain`, `factors.domain.lifecycle`) for any number.
    ("CreateSafelist", 60200, "must be a valid phone number in E.164 format"),
    ("CreateNewFactor", 60200, "`Binding.PhoneNumber`: must be an E.164 phone number"),
    # Likewise a public key of base64 shape is a key only if it decodes to a P-256 SPKI.
    ("CreateNewFactor", 60200, "`Binding.PublicKey`: must be a base64 DER SubjectPublicKeyInfo"),
    ("CreateNewFactor", 60200, "`Binding.PublicKey`: must be a P-256"),
]

EXCUSED = STATE_DEPENDENT + CROSS_PARAMETER + UNASSIGNED_NUMBERS


def excused(operation_id: str, code: int, message: str) -> bool:
    """Whether an answer is one of the excused refusals above."""
    return any(
        op == operation_id and known == code and words in message for op, known, words in EXCUSED
    )


def known_parameters() -> set[tuple[str, str]]:
    """(operationId, parameter) of every parameter excused whole (its words are only its
    name, "`ExpirationDate`"); the others excuse one message."""
    return {
        (operation_id, words.strip("`"))
        for operation_id, _, words in EXCUSED
        if words.startswith("`") and words.endswith("`") and words.count("`") == 2
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
    if kind == "array" and "prefixItems" in content:  # a tuple (no further items here)
        prefix = [json_values(item, depth + 1, root) for item in content["prefixItems"]]
        return st.tuples(*prefix).map(list)
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
