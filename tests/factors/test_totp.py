"""The TOTP module against every RFC 4226 and RFC 6238 test vector, and its input rules."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from factors import recovery, totp

SEED20 = b"12345678901234567890"
SEED32 = b"12345678901234567890123456789012"
SEED64 = (b"1234567890" * 7)[:64]
SEEDS = {"sha1": SEED20, "sha256": SEED32, "sha512": SEED64}

RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]  # fmt: skip

RFC6238 = [
    (59, 0x1, {"sha1": "94287082", "sha256": "46119246", "sha512": "90693936"}),
    (1111111109, 0x23523EC, {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"}),
    (1111111111, 0x23523ED, {"sha1": "14050471", "sha256": "67062674", "sha512": "99943326"}),
    (1234567890, 0x273EF07, {"sha1": "89005924", "sha256": "91819424", "sha512": "93441116"}),
    (2000000000, 0x3F940AA, {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"}),
    (20000000000, 0x27BC86AA, {"sha1": "65353130", "sha256": "77737706", "sha512": "47863826"}),
]


def b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode()


@pytest.mark.parametrize("count", range(10))
def test_rfc4226_hotp(count):
    assert totp.code_at_step(b32(SEED20), count, alg="sha1", digits=6) == RFC4226[count]


@pytest.mark.parametrize(("unix_time", "step", "codes"), RFC6238)
@pytest.mark.parametrize("alg", ["sha1", "sha256", "sha512"])
def test_rfc6238_totp(unix_time, step, codes, alg):
    secret = b32(SEEDS[alg])
    assert totp.step_at(unix_time, 30) == step
    assert totp.code_at_step(secret, step, alg=alg, digits=8) == codes[alg]
    # The verifier finds exactly that step with no skew, and refuses it one step later.
    found = totp.matching_step(
        secret, codes[alg], now=unix_time, alg=alg, digits=8, time_step=30, skew=0
    )
    assert found == step
    later = totp.matching_step(
        secret, codes[alg], now=unix_time + 30, alg=alg, digits=8, time_step=30, skew=0
    )
    assert later is None


def test_short_seed_does_not_reproduce_sha256_rows():
    """The RFC 6238 erratum: the 20-byte seed is wrong for the SHA-256/512 rows."""
    assert totp.code_at_step(b32(SEED20), 1, alg="sha256", digits=8) != "46119246"
    assert totp.code_at_step(b32(SEED20), 1, alg="sha512", digits=8) != "90693936"


def test_skew_window_is_inclusive_and_bounded():
    secret = b32(SEED20)
    now = 1111111111
    current = totp.step_at(now, 30)
    for offset in range(-3, 4):
        code = totp.code_at_step(secret, current + offset, digits=6)
        found = totp.matching_step(
            secret, code, now=now, alg="sha1", digits=6, time_step=30, skew=1
        )
        assert (found == current + offset) is (abs(offset) <= 1), offset


@pytest.mark.parametrize(
    "code",
    [
        "123456",
        "000000",
    ],
)
def test_code_format_accepts_ascii_digits_of_exact_length(code):
    assert totp.is_code_format(code, 6)


@pytest.mark.parametrize(
    "code",
    [
        " 123456",
        "123456 ",
        "123456\n",
        "12 3456",
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic
        "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6",  # Extended Arabic-Indic
        "\u0967\u0968\u0969\u096a\u096b\u096c",  # Devanagari
        "12345",
        "1234567",
        "+12345",
        "-12345",
        "123_456",
        "",
    ],
)
def test_code_format_rejects_everything_else(code):
    assert not totp.is_code_format(code, 6)


def test_generated_secret_length_follows_the_hmac():
    for alg, size in totp.SECRET_BYTES.items():
        secret = totp.generate_secret(alg)
        raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
        assert len(raw) == size
    assert len(totp.generate_secret("sha1")) == 32
    assert totp.generate_secret() != totp.generate_secret()


def test_normalize_secret():
    assert totp.normalize_secret(b32(SEED20).lower()) == b32(SEED20).rstrip("=")
    for bad in [
        "AAAA",
        "not base32!",
        "A" * 25,
        "\uff21" * 26,
        "18" * 20,
    ]:
        with pytest.raises(ValueError):
            totp.normalize_secret(bad)
    assert totp.normalize_secret("A" * 26) == "A" * 26  # 130 bits


def test_provisioning_uri_shape():
    uri = totp.provisioning_uri(
        secret="JBSWY3DPEHPK3PXP", issuer="Acme Inc", label="Rita\u2019s phone", alg="sha256",
        digits=8, period=45,
    )  # fmt: skip
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Acme%20Inc:Rita%E2%80%99s%20phone"
    assert parts.query == (
        "secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Inc&algorithm=SHA256&digits=8&period=45"
    )
    assert parse_qs(parts.query)["issuer"] == ["Acme Inc"]


def test_qr_is_a_png_data_uri():
    data = totp.qr_data_uri("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP")
    prefix = "data:image/png;base64,"
    assert data.startswith(prefix)
    assert base64.b64decode(data[len(prefix) :])[:8] == b"\x89PNG\r\n\x1a\n"


def test_recovery_code_format():
    code = recovery.generate()
    assert len(code) == 19 and code.count("-") == 3
    assert recovery.canonical(code) == code.replace("-", "")
    assert recovery.canonical(code.lower()) == code.replace("-", "")
    assert recovery.canonical(code.replace("-", "")) == code.replace("-", "")
    for bad in [code + " ", " " + code, code[:-1], code.replace("-", " "), "\uff21\uff22\uff23\uff24-EFGH-IJKL-MNOP", "ABCD-EFGHIJKL-MNOP", "ABC1-EFGH-IJKL-MNOP"]:  # fmt: skip
        assert recovery.canonical(bad) is None, bad
    raw = base64.b32decode(code.replace("-", ""))
    assert len(raw) * 8 >= 64


def test_window_decodes_the_seed_once_and_keeps_pyotps_checks(monkeypatch):
    """Each code of the window used to decode the base32 seed again; the window decodes it
    once, with pyotp's own validation (a seed under 112 bits is refused before any code)."""
    secret = b32(SEED20)
    now = 1111111111
    code = totp.code_at_step(secret, totp.step_at(now, 30) + 1, digits=6)
    decodes = []
    real = base64.b32decode
    monkeypatch.setattr(base64, "b32decode", lambda *a, **k: decodes.append(1) or real(*a, **k))
    found = totp.matching_step(secret, code, now=now, alg="sha1", digits=6, time_step=30, skew=2)
    assert found == totp.step_at(now, 30) + 1
    assert len(decodes) == 1
    with pytest.raises(ValueError, match="112 bits"):
        totp.matching_step(b32(b"short"), code, now=now, alg="sha1", digits=6, time_step=30, skew=1)
