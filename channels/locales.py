"""The words of every message, per language, and how a locale string picks them.

Kept apart from `templates.py` so translators touch only data: the texts live in
`locale_texts_*` modules, keyed by the tag Twilio Verify uses (`en`, `en-GB`, `pt`, `pt-BR`,
`zh`, `zh-CN`, `zh-HK`, ...). Every entry is a `str.format` template whose placeholders are a
closed set (`{service}`, `{code}`, `{minutes}`, `{amount}`, `{payee}`); user text only ever
arrives as a value for them.

A locale resolves as Twilio's does: the exact tag (any case, `_` or `-`), then its language,
then English. Resolution is cached (bounded) because the worker renders on its hot path.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from channels.locale_texts_asia_africa import TEXTS as _ASIA_AFRICA
from channels.locale_texts_europe_east import TEXTS as _EUROPE_EAST
from channels.locale_texts_europe_west import TEXTS as _EUROPE_WEST
from channels.locale_types import Texts

__all__ = [
    "DEFAULT_LANGUAGE",
    "LOCALES",
    "NAMED_VOICES",
    "SAY_LANGUAGES",
    "TEXTS",
    "TWILIO_SAY_LANGUAGES",
    "Texts",
    "direction",
    "locale_for_region",
    "resolve_language",
    "say_language",
    "say_voice",
    "texts_for",
    "voice_locale",
]

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, Texts] = {**_EUROPE_WEST, **_EUROPE_EAST, **_ASIA_AFRICA}

# Every tag a caller may name, for the API schema and the README.
LOCALES: tuple[str, ...] = tuple(sorted(TEXTS))

# Lower-cased tag -> TEXTS key, so `PT-br` and `pt_BR` find `pt-BR`.
_KEYS = {key.lower(): key for key in TEXTS}

# Tags that are other names for a supported one: older ISO codes, macrolanguage and script
# subtags. `zh-Hant` without a region reads Taiwan's usage, which has no Cantonese in it.
_ALIASES = {
    "no": "nb",
    "nn": "nb",
    "iw": "he",
    "in": "id",
    "fil": "tl",
    "cmn": "zh-CN",
    "yue": "zh-HK",
    "zh-mo": "zh-HK",
    "zh-sg": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-hant": "zh-TW",
    "zh-hant-hk": "zh-HK",
    "zh-hant-mo": "zh-HK",
}

# Languages Twilio's basic <Say> voices (man, woman, alice) speak: the locale's own accent when
# it names one of these, else the language's default (`es-MX` keeps its accent, `es-AR` reads
# as `es-ES`).
SAY_LANGUAGES = frozenset(
    {
        *("en-US", "en-GB", "en-AU", "en-CA", "en-IN"),
        *("es-ES", "es-MX", "es-US", "fr-FR", "fr-CA", "de-DE", "it-IT", "nl-NL", "ca-ES"),
        *("pt-BR", "pt-PT", "da-DK", "nb-NO", "sv-SE", "fi-FI", "pl-PL", "ru-RU"),
        *("ja-JP", "ko-KR"),
    }
)

# Languages the basic voices lack, with the Amazon Polly or Google voice Twilio offers for each
# (its <Say voice>); the `language` attribute must be the voice's own code, as here.
NAMED_VOICES: dict[str, str] = {
    "arb": "Polly.Zeina",
    "cmn-CN": "Polly.Zhiyu",
    "hi-IN": "Polly.Aditi",
    "ro-RO": "Polly.Carmen",
    "tr-TR": "Polly.Filiz",
    "af-ZA": "Google.af-ZA-Standard-A",
    "bg-BG": "Google.bg-BG-Standard-A",
    "bn-IN": "Google.bn-IN-Standard-A",
    "cmn-TW": "Google.cmn-TW-Standard-A",
    "cs-CZ": "Google.cs-CZ-Standard-A",
    "el-GR": "Google.el-GR-Standard-A",
    "et-EE": "Google.et-EE-Standard-A",
    "fil-PH": "Google.fil-PH-Standard-A",
    "he-IL": "Google.he-IL-Standard-A",
    "hu-HU": "Google.hu-HU-Standard-A",
    "id-ID": "Google.id-ID-Standard-A",
    "lt-LT": "Google.lt-LT-Standard-A",
    "lv-LV": "Google.lv-LV-Standard-A",
    "mr-IN": "Google.mr-IN-Standard-A",
    "ms-MY": "Google.ms-MY-Standard-A",
    "sk-SK": "Google.sk-SK-Standard-A",
    "ta-IN": "Google.ta-IN-Standard-A",
    "te-IN": "Google.te-IN-Standard-A",
    "th-TH": "Google.th-TH-Standard-A",
    "uk-UA": "Google.uk-UA-Standard-A",
    "ur-IN": "Google.ur-IN-Standard-A",
    "vi-VN": "Google.vi-VN-Standard-A",
    "yue-HK": "Google.yue-HK-Standard-A",
}

# Every <Say language> this module may return.
TWILIO_SAY_LANGUAGES = SAY_LANGUAGES | frozenset(NAMED_VOICES)

# Languages no Twilio voice speaks: Twilio Verify refuses such a call (60331); we read it in
# English instead, so the callee still hears the code.
_VOICELESS = frozenset({"hr", "sl", "fa"})

_RTL = frozenset({"ar", "he", "fa", "ur"})

# The locale for a phone number's country when the caller names none, after Twilio's own
# country-to-language choice. English-speaking countries, and multilingual ones where no single
# language we cover is the clear choice (BE, CA, IN, PH, SG, ZA...), are left out: they get
# English. Switzerland is German-majority, so German. Taiwan gets its own Traditional Chinese
# (`zh-TW`), not Hong Kong's `zh-HK`, whose calls are read in Cantonese.
_REGION_LOCALES: dict[str, str] = {
    **dict.fromkeys(("DE", "AT", "CH", "LI"), "de"),
    **dict.fromkeys(("IT", "SM", "VA"), "it"),
    **dict.fromkeys(("NL", "SR", "AW", "CW", "SX", "BQ"), "nl"),
    **dict.fromkeys(
        (
            *("ES", "MX", "AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "SV", "GT", "HN"),
            *("NI", "PA", "PY", "PE", "PR", "UY", "VE", "GQ"),
        ),
        "es",
    ),
    **dict.fromkeys(
        (
            *("FR", "MC", "LU", "SN", "CI", "ML", "BF", "NE", "TG", "BJ", "GA", "CG", "CD"),
            *("CM", "MG", "HT", "GP", "MQ", "GF", "RE", "YT", "PF", "NC", "PM", "BL", "MF"),
            *("WF", "TD", "CF", "GN", "DJ", "KM"),
        ),
        "fr",
    ),
    "BR": "pt-BR",
    **dict.fromkeys(("PT", "AO", "MZ", "CV", "GW", "ST", "TL"), "pt"),
    "AD": "ca",
    **dict.fromkeys(("DK", "GL", "FO"), "da"),
    **dict.fromkeys(("NO", "SJ"), "nb"),
    **dict.fromkeys(("SE", "AX"), "sv"),
    "FI": "fi",
    "CZ": "cs",
    "SK": "sk",
    "PL": "pl",
    "HU": "hu",
    **dict.fromkeys(("RO", "MD"), "ro"),
    "BG": "bg",
    **dict.fromkeys(("GR", "CY"), "el"),
    "EE": "et",
    "LV": "lv",
    "LT": "lt",
    "HR": "hr",
    "SI": "sl",
    **dict.fromkeys(("RU", "BY", "KZ", "KG"), "ru"),
    "UA": "uk",
    **dict.fromkeys(
        (
            *("SA", "AE", "EG", "IQ", "JO", "KW", "LB", "LY", "MA", "OM", "QA", "SY", "TN"),
            *("YE", "BH", "DZ", "SD", "PS", "MR"),
        ),
        "ar",
    ),
    "IL": "he",
    **dict.fromkeys(("IR", "AF"), "fa"),
    "PK": "ur",
    "TR": "tr",
    "BD": "bn",
    "TH": "th",
    "VN": "vi",
    "ID": "id",
    **dict.fromkeys(("MY", "BN"), "ms"),
    "JP": "ja",
    **dict.fromkeys(("KR", "KP"), "ko"),
    "CN": "zh-CN",
    **dict.fromkeys(("HK", "MO"), "zh-HK"),
    "TW": "zh-TW",
}

_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}$")
_SCRIPT_RE = re.compile(r"^[A-Za-z]{4}$")
_REGION_RE = re.compile(r"^[A-Za-z]{2}$")
_CACHE_SIZE = 1024  # bounded: arbitrary caller strings must not grow memory


def _parts(locale: object) -> tuple[str, str | None, str | None]:
    """(language, script, region) of a BCP 47-ish tag (`pt-BR`, `pt_br`, `zh-Hant-HK`,
    `it-IT-x-private`); the default language for anything else. Later subtags are ignored."""
    if not isinstance(locale, str):
        return DEFAULT_LANGUAGE, None, None
    pieces = re.split(r"[-_]", locale.strip()[:35])
    if not _LANGUAGE_RE.match(pieces[0]):
        return DEFAULT_LANGUAGE, None, None
    rest = pieces[1:3]
    script = rest.pop(0).lower() if rest and _SCRIPT_RE.match(rest[0]) else None
    region = rest[0].upper() if rest and _REGION_RE.match(rest[0]) else None
    return pieces[0].lower(), script, region


def _key(tag: str) -> str | None:
    lowered = tag.lower()
    return _KEYS.get(lowered) or _ALIASES.get(lowered)


@lru_cache(maxsize=_CACHE_SIZE)
def _resolve(locale: str) -> tuple[str, str | None]:
    """(TEXTS key, region asked for) of a string locale."""
    language, script, region = _parts(locale)
    # The script decides the writing before the region does (`zh-Hans-HK` is Simplified).
    candidates = [
        "-".join(p for p in (language, script, region) if p),
        f"{language}-{script}" if script else "",
        f"{language}-{region}" if region else "",
        language,
    ]
    for tag in candidates:
        key = _key(tag) if tag else None
        if key:
            return key, region
    return DEFAULT_LANGUAGE, None


def _resolved(locale: object) -> tuple[str, str | None]:
    return _resolve(locale) if isinstance(locale, str) else (DEFAULT_LANGUAGE, None)


def resolve_language(locale: object) -> str:
    """The TEXTS key whose texts serve `locale`: the exact tag, else its language, else
    English (`pt-br` -> `pt-BR`, `pt-PT` -> `pt`, `en-AU` -> `en`, `xx` -> `en`)."""
    return _resolved(locale)[0]


def texts_for(locale: object) -> Texts:
    return TEXTS[resolve_language(locale)]


def voice_locale(locale: object) -> str:
    """The TEXTS key a call for `locale` is read in: its own, unless no Twilio voice speaks
    that language (Croatian, Slovenian, Persian), then English, so that the words and the
    voice agree."""
    key = resolve_language(locale)
    return DEFAULT_LANGUAGE if key in _VOICELESS else key


def say_language(locale: object) -> str:
    """The <Say language> for `locale`: the exact regional accent when a basic voice has it,
    else the language's default voice (so `es-MX` keeps its accent, `es-AR` reads as `es-ES`)."""
    key, region = _resolved(locale)
    default = TEXTS[voice_locale(locale)].say_language
    if region and default in SAY_LANGUAGES:
        regional = f"{key.split('-')[0]}-{region}"
        if regional in SAY_LANGUAGES:
            return regional
    return default


def say_voice(locale: object) -> str | None:
    """The <Say voice> for `locale` when the basic voices lack its language (an Amazon Polly
    or Google voice Twilio offers, e.g. `Polly.Zeina` for Arabic); None when a basic voice
    speaks it, which keeps Twilio's default."""
    return NAMED_VOICES.get(say_language(locale))


def direction(locale: object) -> Literal["rtl", "ltr"]:
    """The writing direction of the texts `locale` is served (Arabic, Hebrew, Persian and Urdu
    are right-to-left; anything that falls back to English is left-to-right)."""
    return "rtl" if resolve_language(locale).split("-")[0] in _RTL else "ltr"


@lru_cache(maxsize=512)
def _region_locale(region: str) -> str | None:
    return _REGION_LOCALES.get(region.strip().upper())


def locale_for_region(region: object) -> str | None:
    """The locale for a phone number's country (ISO 3166 alpha-2, e.g. `BR` -> `pt-BR`) when
    the caller gives none; None for English-speaking, multilingual and unmapped countries."""
    if not isinstance(region, str) or len(region) > 8:  # only short strings reach the cache
        return None
    return _region_locale(region)
