"""Message texts for Central and Eastern European languages, keyed by the tag Twilio Verify
uses. Written for this project; see `channels.locales` for how a locale picks one.

Plurals: Czech, Slovak, Polish, Latvian, Lithuanian, Croatian, Slovenian, Russian, Ukrainian and
Romanian inflect the noun after a number in ways one template cannot follow (ru: 1 минута,
2 минуты, 5 минут, 21 минута; ro: 19 minute but 20 de minute). Their `lifetime` therefore
puts the count before the abbreviated unit ("Срок действия кода — {minutes} мин."), which
reads correctly for the default 10 minutes and for any other count; `lifetime_one` is used
for exactly one minute and is written out in full. Bulgarian, Greek, Hungarian and Estonian
have one form for every count above one, so they keep the full word.

`say_language` is the language of the voice that reads a call; where Twilio's basic voices do
not speak it, `channels.locales.say_voice` names the voice. Croatian and Slovenian have no
Twilio voice: `say_language` is English, and `channels.locales.voice_locale` reads those calls
in English.
"""

# ruff: noqa: RUF001  (Cyrillic and Greek letters are the text itself, not look-alikes)

from __future__ import annotations

from channels.locale_types import Texts

TEXTS: dict[str, Texts] = {
    "cs": Texts(
        code="Váš ověřovací kód pro {service} je: {code}",
        lifetime="Platnost kódu: {minutes} min.",
        lifetime_one="Platnost kódu vyprší za 1 minutu.",
        warning="Tento kód nikomu nesdělujte; naši zaměstnanci se na něj nikdy nebudou ptát.",
        subject="Váš ověřovací kód pro {service}",
        voice_intro="Váš ověřovací kód pro {service} je:",
        voice_repeat="Ještě jednou, váš kód je:",
        voice_goodbye="Na shledanou.",
        say_language="cs-CZ",
        psd2="Částka: {amount}. Příjemce: {payee}.",
        voice_press_key="Volá vám {service}. Stisknutím libovolné klávesy si poslechnete svůj ověřovací kód.",
    ),
    "sk": Texts(
        code="Váš overovací kód pre {service} je: {code}",
        lifetime="Platnosť kódu: {minutes} min.",
        lifetime_one="Platnosť kódu vyprší o 1 minútu.",
        warning="Tento kód nikomu neposkytujte; naši zamestnanci si ho od vás nikdy nevypýtajú.",
        subject="Váš overovací kód pre {service}",
        voice_intro="Váš overovací kód pre {service} je:",
        voice_repeat="Ešte raz, váš kód je:",
        voice_goodbye="Dovidenia.",
        say_language="sk-SK",
        psd2="Suma: {amount}. Príjemca: {payee}.",
        voice_press_key="Volá vám {service}. Stlačením ľubovoľného tlačidla si vypočujete svoj overovací kód.",
    ),
    "pl": Texts(
        code="Twój kod weryfikacyjny {service} to: {code}",
        lifetime="Kod jest ważny przez {minutes} min.",
        lifetime_one="Kod jest ważny przez 1 minutę.",
        warning="Nie udostępniaj tego kodu nikomu; nasi pracownicy nigdy o niego nie poproszą.",
        subject="Twój kod weryfikacyjny {service}",
        voice_intro="Twój kod weryfikacyjny {service} to:",
        voice_repeat="Powtarzam, Twój kod to:",
        voice_goodbye="Do widzenia.",
        say_language="pl-PL",
        psd2="Kwota: {amount}. Odbiorca: {payee}.",
        voice_press_key="Dzwoni {service}. Naciśnij dowolny klawisz, aby usłyszeć swój kod weryfikacyjny.",
    ),
    # "{service}-ellenőrzőkód" compounds the name as written, like "Google-fiók".
    "hu": Texts(
        code="Az Ön {service}-ellenőrzőkódja: {code}",
        lifetime="A kód {minutes} perc múlva lejár.",
        lifetime_one="A kód 1 perc múlva lejár.",
        warning="Ne ossza meg ezt a kódot senkivel; munkatársaink soha nem fogják elkérni.",
        subject="Az Ön {service}-ellenőrzőkódja",
        voice_intro="Az Ön {service}-ellenőrzőkódja:",
        voice_repeat="Még egyszer, a kódja:",
        voice_goodbye="Viszonthallásra.",
        say_language="hu-HU",
        psd2="Összeg: {amount}. Kedvezményezett: {payee}.",
        voice_press_key="Hívás érkezett a következőtől: {service}. Az ellenőrzőkód meghallgatásához nyomja meg bármelyik gombot.",
    ),
    "ro": Texts(
        code="Codul tău de verificare {service} este: {code}",
        lifetime="Cod valabil: {minutes} min.",
        lifetime_one="Codul expiră într-un minut.",
        warning="Nu împărtăși acest cod cu nimeni; angajații noștri nu ți-l vor cere niciodată.",
        subject="Codul tău de verificare {service}",
        voice_intro="Codul tău de verificare {service} este:",
        voice_repeat="Repet, codul tău este:",
        voice_goodbye="La revedere.",
        say_language="ro-RO",
        psd2="Sumă: {amount}. Beneficiar: {payee}.",
        voice_press_key="Acesta este un apel de la {service}. Apasă orice tastă pentru a asculta codul de verificare.",
    ),
    "bg": Texts(
        code="Кодът ви за потвърждение в {service} е: {code}",
        lifetime="Изтича след {minutes} минути.",
        lifetime_one="Изтича след 1 минута.",
        warning="Не споделяйте този код с никого; нашите служители никога няма да го поискат.",
        subject="Кодът ви за потвърждение в {service}",
        voice_intro="Кодът ви за потвърждение в {service} е:",
        voice_repeat="Още веднъж, кодът ви е:",
        voice_goodbye="Довиждане.",
        say_language="bg-BG",
        psd2="Сума: {amount}. Получател: {payee}.",
        voice_press_key="Това е обаждане от {service}. Натиснете произволен клавиш, за да чуете кода си за потвърждение.",
    ),
    "el": Texts(
        code="Ο κωδικός επαλήθευσής σας για {service} είναι: {code}",
        lifetime="Λήγει σε {minutes} λεπτά.",
        lifetime_one="Λήγει σε 1 λεπτό.",
        warning="Μην κοινοποιήσετε αυτόν τον κωδικό σε κανέναν· οι υπάλληλοί μας δεν θα σας τον ζητήσουν ποτέ.",
        subject="Ο κωδικός επαλήθευσής σας για {service}",
        voice_intro="Ο κωδικός επαλήθευσής σας για {service} είναι:",
        voice_repeat="Επαναλαμβάνω, ο κωδικός σας είναι:",
        voice_goodbye="Αντίο σας.",
        say_language="el-GR",
        psd2="Ποσό: {amount}. Δικαιούχος: {payee}.",
        voice_press_key="Αυτή είναι μια κλήση από {service}. Πατήστε οποιοδήποτε πλήκτρο για να ακούσετε τον κωδικό επαλήθευσής σας.",
    ),
    # "Teenuse {service}" (the service's) keeps the name itself uninflected.
    "et": Texts(
        code="Teenuse {service} kinnituskood on: {code}",
        lifetime="Kood aegub {minutes} minuti pärast.",
        lifetime_one="Kood aegub 1 minuti pärast.",
        warning="Ära jaga seda koodi kellegagi; meie töötajad ei küsi seda kunagi.",
        subject="Teenuse {service} kinnituskood",
        voice_intro="Teenuse {service} kinnituskood on:",
        voice_repeat="Veel kord, sinu kood on:",
        voice_goodbye="Head aega.",
        say_language="et-EE",
        psd2="Summa: {amount}. Saaja: {payee}.",
        voice_press_key="See on kõne teenuselt {service}. Kinnituskoodi kuulamiseks vajuta suvalist klahvi.",
    ),
    "lv": Texts(
        code="Jūsu {service} verifikācijas kods ir: {code}",
        lifetime="Kods ir derīgs {minutes} min.",
        lifetime_one="Kods ir derīgs 1 minūti.",
        warning="Nevienam neizpaudiet šo kodu; mūsu darbinieki to nekad neprasīs.",
        subject="Jūsu {service} verifikācijas kods",
        voice_intro="Jūsu {service} verifikācijas kods ir:",
        voice_repeat="Vēlreiz, jūsu kods ir:",
        voice_goodbye="Uz redzēšanos.",
        say_language="lv-LV",
        psd2="Summa: {amount}. Saņēmējs: {payee}.",
        voice_press_key="Jums zvana {service}. Nospiediet jebkuru taustiņu, lai noklausītos savu verifikācijas kodu.",
    ),
    "lt": Texts(
        code="Jūsų {service} patvirtinimo kodas: {code}",
        lifetime="Kodas galioja {minutes} min.",
        lifetime_one="Kodas galioja 1 minutę.",
        warning="Niekam neatskleiskite šio kodo; mūsų darbuotojai niekada jo neprašys.",
        subject="Jūsų {service} patvirtinimo kodas",
        voice_intro="Jūsų {service} patvirtinimo kodas:",
        voice_repeat="Kartoju, jūsų kodas:",
        voice_goodbye="Viso gero.",
        say_language="lt-LT",
        psd2="Suma: {amount}. Gavėjas: {payee}.",
        voice_press_key="Jums skambina {service}. Paspauskite bet kurį mygtuką, kad išgirstumėte savo patvirtinimo kodą.",
    ),
    "hr": Texts(
        code="Vaš {service} kôd za provjeru je: {code}",
        lifetime="Kôd vrijedi {minutes} min.",
        lifetime_one="Kôd vrijedi 1 minutu.",
        warning="Ne dijelite ovaj kôd ni s kim; naši zaposlenici nikada ga neće tražiti.",
        subject="Vaš {service} kôd za provjeru",
        voice_intro="Vaš {service} kôd za provjeru je:",
        voice_repeat="Ponavljam, vaš kôd je:",
        voice_goodbye="Doviđenja.",
        say_language="en-US",  # no Twilio voice speaks Croatian: calls are read in English
        psd2="Iznos: {amount}. Primatelj: {payee}.",
        voice_press_key="Zove vas {service}. Pritisnite bilo koju tipku da biste čuli svoj kôd za provjeru.",
    ),
    "sl": Texts(
        code="Vaša potrditvena koda za {service} je: {code}",
        lifetime="Koda velja {minutes} min.",
        lifetime_one="Koda velja 1 minuto.",
        warning="Te kode ne delite z nikomer; naši zaposleni vas zanjo nikoli ne bodo prosili.",
        subject="Vaša potrditvena koda za {service}",
        voice_intro="Vaša potrditvena koda za {service} je:",
        voice_repeat="Še enkrat, vaša koda je:",
        voice_goodbye="Nasvidenje.",
        say_language="en-US",  # no Twilio voice speaks Slovenian: calls are read in English
        psd2="Znesek: {amount}. Prejemnik: {payee}.",
        voice_press_key="Kliče vas {service}. Pritisnite katero koli tipko, da slišite svojo potrditveno kodo.",
    ),
    "ru": Texts(
        code="Ваш код подтверждения {service}: {code}",
        lifetime="Срок действия кода — {minutes} мин.",
        lifetime_one="Срок действия кода — 1 минута.",
        warning="Никому не сообщайте этот код; наши сотрудники никогда его не спросят.",
        subject="Ваш код подтверждения {service}",
        voice_intro="Ваш код подтверждения {service}:",
        voice_repeat="Повторяю, ваш код:",
        voice_goodbye="До свидания.",
        say_language="ru-RU",
        psd2="Сумма: {amount}. Получатель: {payee}.",
        voice_press_key="Вам звонит {service}. Нажмите любую клавишу, чтобы прослушать код подтверждения.",
    ),
    "uk": Texts(
        code="Ваш код підтвердження {service}: {code}",
        lifetime="Код дійсний {minutes} хв.",
        lifetime_one="Код дійсний 1 хвилину.",
        warning="Нікому не повідомляйте цей код; наші працівники ніколи його не запитуватимуть.",
        subject="Ваш код підтвердження {service}",
        voice_intro="Ваш код підтвердження {service}:",
        voice_repeat="Повторюю, ваш код:",
        voice_goodbye="До побачення.",
        say_language="uk-UA",
        psd2="Сума: {amount}. Отримувач: {payee}.",
        voice_press_key="Вам телефонує {service}. Натисніть будь-яку клавішу, щоб прослухати код підтвердження.",
    ),
}
