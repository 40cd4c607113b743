"""How a locale string picks texts, a voice and a direction; and a country's default locale."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.locales import (
    LOCALES,
    NAMED_VOICES,
    SAY_LANGUAGES,
    TEXTS,
    TWILIO_SAY_LANGUAGES,
    direction,
    locale_for_region,
    resolve_language,
    say_language,
    say_voice,
    texts_for,
    voice_locale,
)


@pytest.mark.parametrize(
    ("locale", "key"),
    [
        ("pt-br", "pt-BR"),
        ("PT_BR", "pt-BR"),
        ("pt-PT", "pt"),
        ("pt_pt", "pt"),
        ("pt-AO", "pt"),
        ("en-GB", "en-GB"),
        ("en_gb", "en-GB"),
        ("en-AU", "en"),
        ("en-US", "en"),
        ("es-MX", "es"),
        ("zh", "zh"),
        ("zh-cn", "zh-CN"),
        ("zh_hk", "zh-HK"),
        ("zh-MO", "zh-HK"),
        ("zh-TW", "zh-TW"),
        ("zh-SG", "zh-CN"),
        ("zh-Hant", "zh-TW"),
        ("zh-Hant-HK", "zh-HK"),
        ("zh-Hans-HK", "zh-CN"),
        ("no", "nb"),
        ("nb-NO", "nb"),
        ("iw", "he"),
        ("in", "id"),
        ("fil-PH", "tl"),
        ("ar-EG", "ar"),
        ("it-IT-x-private", "it"),
        ("DE", "de"),
        ("xx", "en"),
        ("xx-GB", "en"),
        ("", "en"),
        ("en-", "en"),
        ("../../etc", "en"),
        ("{code}", "en"),
        (None, "en"),
        (42, "en"),
        (["pt-BR"], "en"),
    ],
)
def test_exact_tag_then_language_then_english(locale, key):
    assert resolve_language(locale) == key
    assert texts_for(locale) is TEXTS[key]


def test_simplified_and_traditional_chinese_differ():
    assert TEXTS["zh"] == TEXTS["zh-CN"]
    assert "验证码" in TEXTS["zh-CN"].code
    for traditional in ("zh-HK", "zh-TW"):
        assert "驗證碼" in TEXTS[traditional].code
        assert "验" not in TEXTS[traditional].code
    assert TEXTS["zh-HK"].say_language == "yue-HK"  # Cantonese
    assert TEXTS["zh-TW"].say_language == "cmn-TW"  # Taiwanese Mandarin


def test_european_and_brazilian_portuguese_differ():
    assert "partilhe" in TEXTS["pt"].warning
    assert "compartilhe" in TEXTS["pt-BR"].warning
    assert (TEXTS["pt"].say_language, TEXTS["pt-BR"].say_language) == ("pt-PT", "pt-BR")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ar", "rtl"),
        ("ar-SA", "rtl"),
        ("he", "rtl"),
        ("iw-IL", "rtl"),
        ("fa", "rtl"),
        ("ur_PK", "rtl"),
        ("en", "ltr"),
        ("zh-HK", "ltr"),
        ("ps", "ltr"),  # Pashto falls back to English texts, which are left-to-right
        ("", "ltr"),
        (None, "ltr"),
    ],
)
def test_direction(locale, expected):
    assert direction(locale) == expected


@pytest.mark.parametrize(
    ("region", "locale"),
    [
        ("DE", "de"),
        ("AT", "de"),
        ("CH", "de"),
        ("BR", "pt-BR"),
        ("PT", "pt"),
        ("AO", "pt"),
        ("CN", "zh-CN"),
        ("HK", "zh-HK"),
        ("MO", "zh-HK"),
        ("TW", "zh-TW"),
        ("FR", "fr"),
        ("SN", "fr"),
        ("ES", "es"),
        ("MX", "es"),
        ("AR", "es"),
        ("SA", "ar"),
        ("AE", "ar"),
        ("EG", "ar"),
        ("IL", "he"),
        ("IR", "fa"),
        ("PK", "ur"),
        ("JP", "ja"),
        ("KR", "ko"),
        ("RU", "ru"),
        ("UA", "uk"),
        ("NO", "nb"),
        ("de", "de"),
        (" br ", "pt-BR"),
        ("US", None),
        ("GB", None),
        ("AU", None),
        ("CA", None),
        ("IN", None),
        ("BE", None),
        ("ZZ", None),
        ("", None),
        (None, None),
        (49, None),
    ],
)
def test_locale_for_region(region, locale):
    assert locale_for_region(region) == locale


def test_every_region_locale_is_a_supported_tag():
    from channels.locales import _REGION_LOCALES

    assert set(_REGION_LOCALES.values()) <= set(LOCALES)
    assert all(re.fullmatch(r"[A-Z]{2}", region) for region in _REGION_LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_a_twilio_voice_that_matches_its_words(locale):
    language = say_language(locale)
    voice = say_voice(locale)
    assert language in TWILIO_SAY_LANGUAGES
    assert TEXTS[voice_locale(locale)].say_language == language  # words and voice agree
    if language in SAY_LANGUAGES:
        assert voice is None  # a basic voice speaks it
    else:
        assert voice == NAMED_VOICES[language]
        assert voice.startswith("Polly.") or voice.startswith(f"Google.{language}-")


@pytest.mark.parametrize(
    ("locale", "language", "voice"),
    [
        ("ar", "arb", "Polly.Zeina"),
        ("zh-CN", "cmn-CN", "Polly.Zhiyu"),
        ("zh-HK", "yue-HK", "Google.yue-HK-Standard-A"),
        ("hi", "hi-IN", "Polly.Aditi"),
        ("es-MX", "es-MX", None),
        ("es-AR", "es-ES", None),
        ("fr-CA", "fr-CA", None),
        ("en-AU", "en-AU", None),
        ("en-GB", "en-GB", None),
        ("pt-PT", "pt-PT", None),
        ("pt-BR", "pt-BR", None),
        ("da", "da-DK", None),
        ("xx", "en-US", None),
    ],
)
def test_say_language_and_voice(locale, language, voice):
    assert (say_language(locale), say_voice(locale)) == (language, voice)


@pytest.mark.parametrize("locale", ["hr", "sl", "fa", "hr-HR", "fa_IR"])
def test_languages_without_a_twilio_voice_are_read_in_english(locale):
    assert resolve_language(locale) != "en"  # the text channels keep the language
    assert voice_locale(locale) == "en"
    assert (say_language(locale), say_voice(locale)) == ("en-US", None)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=60)))
def test_any_input_resolves_to_something_supported(locale):
    assert resolve_language(locale) in TEXTS
    assert voice_locale(locale) in TEXTS
    assert say_language(locale) in TWILIO_SAY_LANGUAGES
    assert direction(locale) in {"rtl", "ltr"}
    assert locale_for_region(locale) in {None, *LOCALES}
