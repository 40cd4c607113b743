"""The words of every message, per language, and how a locale string picks them.

Kept apart from `templates.py` so translators touch only data. Every entry is a
`str.format` template whose placeholders are a closed set (`{service}`, `{code}`,
`{minutes}`); user text only ever arrives as a value for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Texts:
    code: str  # first line of an SMS/WhatsApp/email body
    lifetime: str  # "{minutes}" minutes, plural
    lifetime_one: str  # exactly one minute
    warning: str  # the service's "do not share" warning
    subject: str  # email subject
    voice_intro: str  # said before the digits
    voice_repeat: str  # said before the digits the second time
    voice_goodbye: str
    say_language: str  # default <Say language="..."> for the language
    psd2: str  # PSD2 dynamic linking: "{amount}" and "{payee}" of the transaction
    voice_press_key: str  # said until the callee presses a key (DtmfInputRequired)


TEXTS: dict[str, Texts] = {
    "en": Texts(
        code="Your {service} verification code is: {code}",
        lifetime="It expires in {minutes} minutes.",
        lifetime_one="It expires in 1 minute.",
        warning="Don't share this code with anyone; our employees will never ask for it.",
        subject="Your {service} verification code",
        voice_intro="Your {service} verification code is:",
        voice_repeat="Once again, your code is:",
        voice_goodbye="Goodbye.",
        say_language="en-US",
        psd2="Amount: {amount}. Payee: {payee}.",
        voice_press_key="This is a call from {service}. Press any key to hear your verification code.",
    ),
    "es": Texts(
        code="Tu código de verificación de {service} es: {code}",
        lifetime="Caduca en {minutes} minutos.",
        lifetime_one="Caduca en 1 minuto.",
        warning="No compartas este código con nadie; nuestros empleados nunca te lo pedirán.",
        subject="Tu código de verificación de {service}",
        voice_intro="Tu código de verificación de {service} es:",
        voice_repeat="Repito, tu código es:",
        voice_goodbye="Adiós.",
        say_language="es-ES",
        psd2="Importe: {amount}. Beneficiario: {payee}.",
        voice_press_key="Esta es una llamada de {service}. Pulsa cualquier tecla para escuchar tu código de verificación.",
    ),
    "fr": Texts(
        code="Votre code de vérification {service} est : {code}",
        lifetime="Il expire dans {minutes} minutes.",
        lifetime_one="Il expire dans 1 minute.",
        warning=("Ne partagez ce code avec personne ; nos employés ne vous le demanderont jamais."),
        subject="Votre code de vérification {service}",
        voice_intro="Votre code de vérification {service} est :",
        voice_repeat="Je répète, votre code est :",
        voice_goodbye="Au revoir.",
        say_language="fr-FR",
        psd2="Montant : {amount}. Bénéficiaire : {payee}.",
        voice_press_key="Ceci est un appel de {service}. Appuyez sur une touche pour entendre votre code de vérification.",
    ),
    "de": Texts(
        code="Ihr {service} Bestätigungscode lautet: {code}",
        lifetime="Er läuft in {minutes} Minuten ab.",
        lifetime_one="Er läuft in 1 Minute ab.",
        warning=(
            "Geben Sie diesen Code an niemanden weiter; unsere Mitarbeiter werden nie "
            "danach fragen."
        ),
        subject="Ihr {service} Bestätigungscode",
        voice_intro="Ihr {service} Bestätigungscode lautet:",
        voice_repeat="Noch einmal, Ihr Code lautet:",
        voice_goodbye="Auf Wiederhören.",
        say_language="de-DE",
        psd2="Betrag: {amount}. Empfänger: {payee}.",
        voice_press_key="Dies ist ein Anruf von {service}. Drücken Sie eine beliebige Taste, um Ihren Bestätigungscode zu hören.",
    ),
    "pt": Texts(
        code="Seu código de verificação {service} é: {code}",
        lifetime="Ele expira em {minutes} minutos.",
        lifetime_one="Ele expira em 1 minuto.",
        warning=("Não compartilhe este código com ninguém; nossos funcionários nunca vão pedi-lo."),
        subject="Seu código de verificação {service}",
        voice_intro="Seu código de verificação {service} é:",
        voice_repeat="Repetindo, seu código é:",
        voice_goodbye="Tchau.",
        say_language="pt-BR",
        psd2="Valor: {amount}. Beneficiário: {payee}.",
        voice_press_key="Esta é uma ligação de {service}. Pressione qualquer tecla para ouvir seu código de verificação.",
    ),
    "it": Texts(
        code="Il tuo codice di verifica {service} è: {code}",
        lifetime="Scade tra {minutes} minuti.",
        lifetime_one="Scade tra 1 minuto.",
        warning="Non condividere questo codice con nessuno; i nostri dipendenti non te lo chiederanno mai.",
        subject="Il tuo codice di verifica {service}",
        voice_intro="Il tuo codice di verifica {service} è:",
        voice_repeat="Ripeto, il tuo codice è:",
        voice_goodbye="Arrivederci.",
        say_language="it-IT",
        psd2="Importo: {amount}. Beneficiario: {payee}.",
        voice_press_key="Questa è una chiamata da {service}. Premi un tasto qualsiasi per ascoltare il tuo codice di verifica.",
    ),
    "nl": Texts(
        code="Je {service} verificatiecode is: {code}",
        lifetime="Deze verloopt over {minutes} minuten.",
        lifetime_one="Deze verloopt over 1 minuut.",
        warning="Deel deze code met niemand; onze medewerkers zullen er nooit om vragen.",
        subject="Je {service} verificatiecode",
        voice_intro="Je {service} verificatiecode is:",
        voice_repeat="Nogmaals, je code is:",
        voice_goodbye="Tot ziens.",
        say_language="nl-NL",
        psd2="Bedrag: {amount}. Begunstigde: {payee}.",
        voice_press_key="Dit is een oproep van {service}. Druk op een willekeurige toets om je verificatiecode te horen.",
    ),
}

# Regional voices Twilio's <Say> offers beyond each language's default; a locale naming one
# of these is read in that accent, any other region falls back to the language's default.
SAY_LANGUAGES = frozenset(
    {
        "en-US",
        "en-GB",
        "en-AU",
        "en-CA",
        "en-IN",
        "es-ES",
        "es-MX",
        "es-US",
        "fr-FR",
        "fr-CA",
        "de-DE",
        "pt-BR",
        "pt-PT",
        "it-IT",
        "nl-NL",
    }
)

_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}$")
_REGION_RE = re.compile(r"^[A-Za-z]{2}$")


def _parts(locale: object) -> tuple[str, str | None]:
    """(language, region) of a BCP 47-ish tag (`pt-BR`, `pt_br`, `it-IT-x-private`); the
    default language for anything else. Only the first two subtags matter here."""
    if not isinstance(locale, str):
        return DEFAULT_LANGUAGE, None
    pieces = re.split(r"[-_]", locale.strip()[:35])
    if not _LANGUAGE_RE.match(pieces[0]):
        return DEFAULT_LANGUAGE, None
    region = pieces[1].upper() if len(pieces) > 1 and _REGION_RE.match(pieces[1]) else None
    return pieces[0].lower(), region


def resolve_language(locale: object) -> str:
    """The language whose texts serve `locale`: its language if we have it, else English."""
    language, _ = _parts(locale)
    return language if language in TEXTS else DEFAULT_LANGUAGE


def texts_for(locale: object) -> Texts:
    return TEXTS[resolve_language(locale)]


def say_language(locale: object) -> str:
    """The <Say language> for `locale`: the exact regional voice when Twilio has one, else
    the language's default voice (so `es-MX` keeps its accent, `es-AR` reads as `es-ES`)."""
    language, region = _parts(locale)
    resolved = resolve_language(locale)
    if region and language == resolved and f"{language}-{region}" in SAY_LANGUAGES:
        return f"{language}-{region}"
    return TEXTS[resolved].say_language
