"""The message catalog: every text in both languages, with the same placeholders."""

import re
import string
from decimal import Decimal

import pytest

from bot.messages import CATALOG, Messages


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_message_exists_in_french_and_english_with_the_same_placeholders(key: str) -> None:
    """A placeholder missing in one language would crash that language only."""
    texts = CATALOG[key]
    assert set(texts) == {"fr", "en"}
    fields = [
        {name for _, name, _, _ in string.Formatter().parse(text) if name}
        for text in texts.values()
    ]
    assert fields[0] == fields[1]


def test_french_is_the_default_language() -> None:
    """The team is French: messages default to French."""
    assert Messages().get("button.claim") == "Prendre en charge"
    assert Messages("en").get("button.claim") == "Claim"


def test_literal_angle_brackets_are_escaped_but_mentions_kept() -> None:
    """`<ticket>` in usage text would be a Slack link; `<@{user}>` must stay a mention."""
    assert "&lt;ticket&gt;" in Messages("en").get("usage.claim")
    assert Messages("en").get("ticket.claimed", ref="INT-1", user="U1") == (
        "INT-1 claimed by <@U1>."
    )


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("ACME SARL", "le forfait d'ACME SARL est épuisé"),
        ("Intermarché", "le forfait d'Intermarché est épuisé"),
        ("Globex", "le forfait de Globex est épuisé"),
        ("Hachette", "le forfait de Hachette est épuisé"),
    ],
)
def test_french_elides_de_before_a_name_that_starts_with_a_vowel(
    client: str, expected: str
) -> None:
    """ "le forfait de ACME" is not French; English keeps the name as it is."""
    values = {"ref": "INT-1", "client": client, "used": 4, "allowed": 4, "month": "mai 2026"}
    assert expected in Messages("fr").get("ticket.opened_out_of_scope", **values)
    assert f"{client}'s allowance" in Messages("en").get("ticket.opened_out_of_scope", **values)


def test_numbers_and_amounts_are_written_as_each_language_writes_them() -> None:
    """French writes a decimal comma: "149,50 €", "99,998 %"."""
    assert Messages("fr").money(Decimal("149.5")) == "149,50 €"
    assert Messages("en").money(Decimal("149.5")) == "149.50 €"
    assert Messages("fr").decimal(99.99816, 3) == "99,998"
    assert Messages("en").decimal(99.99816, 3) == "99.998"


@pytest.mark.parametrize(
    ("count", "french", "english"),
    [
        (0, "0 attente, 0 s", "0 waits, 0 s"),
        (1, "1 attente, 0 s", "1 wait, 0 s"),
        (2, "2 attentes, 0 s", "2 waits, 0 s"),
    ],
)
def test_a_count_agrees_with_the_word_it_counts(count: int, french: str, english: str) -> None:
    """ "2 attente(s)" is a form, not a sentence: French plural from 2 on, English but for 1."""
    assert Messages("fr").get("report.ticket_paused", count=count, total="0 s") == french
    assert Messages("en").get("report.ticket_paused", count=count, total="0 s") == english


def test_no_message_leaves_a_plural_to_the_reader() -> None:
    """Every count is written in agreement (`{n:s}`), in every message."""
    assert not [key for key, texts in CATALOG.items() for text in texts.values() if "(s)" in text]


# Values that can never start with a vowel, as the bot writes them: local times and months
# (render.local_time), amounts (Messages.money), the clocks' names. Every other value is given
# one that does: a ref (INT-8), a server (acme-web-01), a client (Orange), a kind (utilisation).
NOT_WORDS = {
    "since": "2026-11-27 09:10",
    "until": "2026-11-27 10:10",
    "at": "2026-11-27 09:12",
    "called": "2026-11-27 09:05",
    "registered": "2026-11-27 09:06",
    "deadline": "2026-11-27 13:05",
    "date": "2026-11-27",
    "month": "2026-11",
    "amount": "60,00 €",
    "full": "120,00 €",
    "cap": "90,00 €",
    "taken": "60,00 €",
    "clock": "GTI",
}
# A word that French elides before a vowel ("d'", "l'", "qu'"…) or contracts ("du" → "de l'"),
# then a vowel: "de INT-8", "le incident", "du acme-web-01" are not French.
UNELIDED = re.compile(
    r"(?<![\w'])(de|du|le|la|que|ce|ne|se|je)\s+[`*_]*[aeiouàâäéèêëîïôöùûü]", re.IGNORECASE
)


def french_fields() -> dict[str, set[str]]:
    """Every placeholder of the French messages, with the format specs it takes."""
    fields: dict[str, set[str]] = {}
    for texts in CATALOG.values():
        for _, name, spec, _ in string.Formatter().parse(texts["fr"]):
            if name:
                fields.setdefault(name, set()).add(spec or "")
    return fields


@pytest.mark.parametrize("word", ["INT-8", "acme-web-01", "Orange", "utilisation", "Écrin"])
def test_no_french_message_misses_an_elision_before_a_vowel(word: str) -> None:
    """Rendered with a value that starts with a vowel wherever one can, no French message
    reads "de INT-8" or "le acme-web-01": it elides ({client:de}) or names what it is ("du
    ticket INT-8")."""
    fields = french_fields()
    values: dict[str, object] = {
        name: 2 if "s" in specs else NOT_WORDS.get(name, word) for name, specs in fields.items()
    }
    french = Messages("fr")
    wrong = {
        key: match.group(0)
        for key in CATALOG
        if (match := UNELIDED.search(french.get(key, **values)))
    }
    assert wrong == {}


@pytest.mark.parametrize("key", ["help.intervention", "help.sla"])
def test_french_help_puts_a_space_before_its_colons(key: str) -> None:
    """French writes "`claim <ticket>` : prendre en charge", as every other French message."""
    prose = re.sub(r"`[^`]*`", "`…`", Messages("fr").get(key))  # code keeps its own colons
    assert re.search(r"\S:", prose) is None


@pytest.mark.parametrize(("count", "french"), [(1, "… et 1 autre"), (2, "… et 2 autres")])
def test_the_servers_a_storm_root_does_not_name_are_counted_in_agreement(
    count: int, french: str
) -> None:
    """A storm of 61 servers names 60 and counts the last: "et 1 autre", not "1 autres"."""
    assert Messages("fr").get("alert.storm.more", count=count) == french
    assert Messages("en").get("alert.storm.more", count=count) == f"… and {count} more"


def test_the_french_internal_error_promises_no_more_than_the_english() -> None:
    """The details are in the bot's logs; nobody is told, so French says no "équipe prévenue"."""
    assert Messages("fr").get("error.internal") == (
        "Erreur interne : rien n'a été perdu, le détail est dans les journaux du bot."
    )


def test_the_french_of_a_server_no_longer_probed_says_what_left_the_catalog() -> None:
    """ "retiré du catalogue, ou ses sondes" leaves its verb to guess: the server or its probes
    were removed."""
    assert Messages("fr").get("alert.thread.unprobed", server="web-01") == (
        ":white_circle: web-01 n'est plus sondé (lui ou ses sondes ont été retirés du "
        "catalogue) : plus de relance, et aucune fin de panne ne sera constatée."
    )


def test_an_acknowledged_alert_agrees_in_french_wherever_it_is_said() -> None:
    """The alert (l'alerte) is taken: its root reads "Prise en compte", as the reply to a
    second click reads "Déjà prise en compte", not "Pris en compte"."""
    french = Messages("fr")
    assert french.get("alert.root.acknowledged", user="U1", at="09:12").startswith(
        "Prise en compte par <@U1>"
    )
    assert french.get("alert.already_acknowledged", user="U1").startswith("Déjà prise en compte")


def test_the_french_gtr_restored_addresses_its_technician_with_a_comma() -> None:
    """French sets off whom it addresses: "<@U1>, merci de confirmer", not "<@U1> merci"."""
    text = Messages("fr").get(
        "ticket.gtr_restored", server="web-01", at="09:12", ref="INT-8", gtr="", mention="<@U1>"
    )
    assert text.endswith("<@U1>, merci de confirmer, puis `/intervention resolve INT-8`.")


def test_the_french_help_says_what_each_command_does_in_the_infinitive() -> None:
    """ "prendre en charge", "clore le ticket", "repousser…": `open` too, "enregistrer"."""
    assert "` : enregistrer un ticket (types" in Messages("fr").get("help.intervention")


def test_the_french_says_relance_only_of_a_nudge() -> None:
    """A relance is a nudge to update the client: the paused clock that `resume` restarts
    "repart", it is not "relancé"."""
    text = Messages("fr").get("ticket.claimed_paused", since="09:10", reason="disque", id=8)
    assert text.endswith("`/intervention resume 8` le fait repartir.")


def test_the_french_answer_to_a_garbled_button_speaks_of_no_ticket() -> None:
    """The answer to a button or modal whose payload is unreadable serves an outage's buttons
    (Acknowledge, Silence 1h, Open intervention) as much as a ticket's: French says it names
    nothing readable, as English does, not "aucun ticket"."""
    assert Messages("fr").get("error.bad_payload") == (
        "Ce bouton ou ce formulaire ne désigne rien que le bot sache lire : passez par la "
        "commande `/intervention`."
    )
