"""Every user-facing string, in French and English (`SUPPORTBOT_LANGUAGE`).

Keys are dotted names; values are `str.format` templates. `Messages.get` refuses a key or a
placeholder it does not know, so a typo fails in tests rather than in front of a technician.
"""

from dataclasses import dataclass
from typing import Literal

Language = Literal["fr", "en"]

CATALOG: dict[str, dict[Language, str]] = {
    "help.intervention": {
        "fr": (
            "*Commandes `/intervention`*\n"
            "• `open <serveur> <type> [--at HH:MM|ISO-8601] <description…>`: enregistre un ticket "
            "(types : secours|incident, maintenance, utilisation|usage, materiel|hardware, "
            "reseau|network)\n"
            "• `claim <ticket>`: prendre en charge (arrête la GTI)\n"
            "• `update <ticket> <texte…>`: point d'avancement donné au client\n"
            "• `wait <ticket> <raison…>` · `resume <ticket>`: attente client (pause) et reprise\n"
            "• `resolve <ticket> [note…]`: clore le ticket\n"
            "• `reassign <ticket> <@utilisateur>` · `quote <ticket> [note…]` · "
            "`refuse <ticket> [raison…]`\n"
            "• `snooze <ticket> <durée>`: repousser la prochaine relance\n"
            "• `show <ticket>` · `list [mine|open|<client>]` · `help`\n"
            "`<ticket>` s'écrit `INT-42` ou `42`."
        ),
        "en": (
            "*`/intervention` commands*\n"
            "• `open <server> <kind> [--at HH:MM|ISO-8601] <description…>`: register a ticket "
            "(kinds: secours|incident, maintenance, utilisation|usage, materiel|hardware, "
            "reseau|network)\n"
            "• `claim <ticket>`: take the ticket (stops GTI)\n"
            "• `update <ticket> <text…>`: record a progress update given to the client\n"
            "• `wait <ticket> <reason…>` · `resume <ticket>`: wait on the client (pause), resume\n"
            "• `resolve <ticket> [note…]`: close the ticket\n"
            "• `reassign <ticket> <@user>` · `quote <ticket> [note…]` · "
            "`refuse <ticket> [reason…]`\n"
            "• `snooze <ticket> <duration>`: delay the next update nudge\n"
            "• `show <ticket>` · `list [mine|open|<client>]` · `help`\n"
            "`<ticket>` is `INT-42` or `42`."
        ),
    },
    "help.sla": {
        "fr": (
            "*Commandes `/sla`*\n"
            "• `status [<client>|<serveur>|<ticket>]`: tickets ouverts, le plus urgent d'abord\n"
            "• `report [<client>] [AAAA-MM] [public]`: bilan mensuel\n"
            "• `credit request|grant|decline <ticket> [note…]`: avoirs\n"
            "• `silence <serveur> <durée> [raison…]`: couper les alertes d'un serveur\n"
            "• `help`"
        ),
        "en": (
            "*`/sla` commands*\n"
            "• `status [<client>|<server>|<ticket>]`: open tickets, most urgent first\n"
            "• `report [<client>] [YYYY-MM] [public]`: monthly report\n"
            "• `credit request|grant|decline <ticket> [note…]`: credits\n"
            "• `silence <server> <duration> [reason…]`: stop a server's alerts for a while\n"
            "• `help`"
        ),
    },
    "error.unknown_subcommand": {
        "fr": "Sous-commande inconnue `{word}` pour `{command}`. Tapez `{command} help`.",
        "en": "Unknown subcommand `{word}` for `{command}`. Type `{command} help`.",
    },
    "error.not_available": {
        "fr": "`{command} {word}` n'est pas encore disponible dans cette version.",
        "en": "`{command} {word}` is not available in this version yet.",
    },
    "outbox.failed": {
        "fr": (
            ":warning: Un message du bot n'a pas pu être envoyé à `{channel}` "
            "(erreur Slack `{error}`, clé `{key}`). Début du texte : {preview}"
        ),
        "en": (
            ":warning: A bot message could not be delivered to `{channel}` "
            "(Slack error `{error}`, key `{key}`). Start of the text: {preview}"
        ),
    },
    "error.internal": {
        "fr": "Erreur interne : rien n'a été perdu, l'équipe est prévenue dans les journaux.",
        "en": "Internal error: nothing was lost, the details are in the bot's logs.",
    },
}


@dataclass(frozen=True)
class Messages:
    """The message catalog in one language."""

    language: Language = "fr"

    def get(self, key: str, /, **values: object) -> str:
        """The text for `key` with `values` filled in; KeyError on an unknown key or placeholder."""
        return CATALOG[key][self.language].format(**values)
