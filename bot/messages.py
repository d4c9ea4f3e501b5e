"""Every user-facing string, in French and English (`SUPPORTBOT_LANGUAGE`).

Keys are dotted names; values are `str.format` templates. `Messages.get` refuses a key or a
placeholder it does not know, so a typo fails in tests rather than in front of a technician.
French names take an elided preposition: `{client:de}` writes "de Globex" but "d'ACME". A
ticket ref takes its noun instead ("la GTR du ticket {ref}", never "de INT-8"), which reads
right however the ref is spoken. tests/test_messages.py renders every French message with
values that start with a vowel and refuses a missing elision.
"""

import functools
import re
import string
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Language = Literal["fr", "en"]

CATALOG: dict[str, dict[Language, str]] = {
    "help.intervention": {
        "fr": (
            "*Commandes `/intervention`*\n"
            "• `open <serveur> <type> [--at HH:MM|ISO-8601] <description…>` : enregistrer un "
            "ticket (types : secours|incident, maintenance, utilisation|usage, materiel|hardware, "
            "reseau|network)\n"
            "• `claim <ticket>` : prendre en charge (arrête la GTI)\n"
            "• `update <ticket> <texte…>` : point d'avancement donné au client\n"
            "• `wait <ticket> <raison…>` · `resume <ticket>` : attente client (pause) et reprise\n"
            "• `resolve <ticket> [note…]` : clore le ticket\n"
            "• `reassign <ticket> <@utilisateur>`\n"
            "• `quote <ticket> [note…]` · `refuse <ticket> [raison…]` : devis accepté ou refus "
            "d'une demande hors forfait (la sort du forfait si elle y était)\n"
            "• `snooze <ticket> <durée>` : repousser la prochaine relance\n"
            "• `show <ticket>` · `list [mine|open|<client>]` · `help`\n"
            "`<ticket>` s'écrit `INT-42` ou `42` ; l'heure d'appel (`--at`), `15:30`, `15h30` ou "
            "`15h` (une date ISO-8601 pour un autre jour)."
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
            "• `reassign <ticket> <@user>`\n"
            "• `quote <ticket> [note…]` · `refuse <ticket> [reason…]`: quote accepted or refusal "
            "of a request outside the forfait (takes it out of the forfait if it was in)\n"
            "• `snooze <ticket> <duration>`: delay the next update nudge\n"
            "• `show <ticket>` · `list [mine|open|<client>]` · `help`\n"
            "`<ticket>` is `INT-42` or `42`; the call time (`--at`), `15:30`, `15h30` or `15h` "
            "(an ISO-8601 instant for another day)."
        ),
    },
    "help.sla": {
        "fr": (
            "*Commandes `/sla`*\n"
            "• `status [<client>|<serveur>|<ticket>]` : tickets ouverts, le plus urgent d'abord\n"
            "• `report [<client>] [AAAA-MM] [public]` : bilan mensuel\n"
            "• `credit request|grant|decline <ticket> [note…]` : avoirs\n"
            "• `silence <serveur> <durée> [raison…]` : couper les alertes d'un serveur\n"
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
    # Alerts (issue 6) ---------------------------------------------------------------------------
    "alert.root.down": {
        "fr": ":red_circle: *{server}* en panne · {client} ({level})",
        "en": ":red_circle: *{server}* is DOWN · {client} ({level})",
    },
    "alert.root.recovered": {
        "fr": ":large_green_circle: *{server}* rétabli après {duration} · {client} ({level})",
        "en": ":large_green_circle: *{server}* recovered after {duration} · {client} ({level})",
    },
    "alert.root.unprobed": {
        "fr": ":white_circle: *{server}* n'est plus surveillé · {client} ({level})",
        "en": ":white_circle: *{server}* is no longer monitored · {client} ({level})",
    },
    "alert.root.unprobed_why": {
        "fr": "Le catalogue ne le sonde plus : cette panne n'aura pas de fin constatée.",
        "en": "The catalog no longer probes it: no recovery of this outage will be seen.",
    },
    "alert.text.unprobed": {
        "fr": "{server} n'est plus surveillé ({client}, {level}), en panne depuis {since}",
        "en": "{server} no longer monitored ({client}, {level}), down since {since}",
    },
    "alert.thread.unprobed": {
        "fr": ":white_circle: {server} n'est plus sondé (lui ou ses sondes ont été retirés du "
        "catalogue) : plus de relance, et aucune fin de panne ne sera constatée.",
        "en": ":white_circle: {server} is no longer probed (removed from the catalog, or its "
        "probes): no more pings, and no recovery will be seen.",
    },
    "alert.thread.probed_again": {
        "fr": ":large_blue_circle: {server} est de nouveau sondé (remis au catalogue) : il est "
        "toujours en panne, et son rétablissement sera constaté.",
        "en": ":large_blue_circle: {server} is probed again (back in the catalog): it is still "
        "down, and its recovery will be seen.",
    },
    "alert.root.since": {
        "fr": "En panne depuis {since} (premier échec).",
        "en": "Down since {since} (first failure).",
    },
    "alert.root.ended": {
        "fr": "En panne de {since} à {until} ({duration}).",
        "en": "Down from {since} to {until} ({duration}).",
    },
    "alert.root.flapping": {
        "fr": ":repeat: Instable : {count} pannes en moins d'une heure, celle-ci comprise.",
        "en": ":repeat: Flapping: down {count} times within an hour, this time included.",
    },
    "alert.text.flapping": {
        "fr": " ({count} pannes en moins d'une heure)",
        "en": " (down {count} times within an hour)",
    },
    "alert.root.probes": {"fr": "Sondes en échec :", "en": "Failing probes:"},
    "alert.root.probe": {"fr": "• `{probe}` : {error}", "en": "• `{probe}`: {error}"},
    # Why a probe failed (bot/probes/errors.py): stored as a key and values, put in words
    # where shown. The values come from outside (hosts, statuses, the OS's words).
    "probe.error.timeout": {
        "fr": "délai dépassé : aucune réponse en {seconds} s",
        "en": "timeout: no answer in {seconds} s",
    },
    "probe.error.no_connection": {
        "fr": "délai dépassé : aucune connexion en {seconds} s",
        "en": "timeout: no connection in {seconds} s",
    },
    "probe.error.resolve_timeout": {
        "fr": "impossible de résoudre {host} : pas de réponse en {seconds} s",
        "en": "cannot resolve {host}: no answer in {seconds} s",
    },
    "probe.error.resolve": {
        "fr": "impossible de résoudre {host} : {reason}",
        "en": "cannot resolve {host}: {reason}",
    },
    "probe.error.no_address": {
        "fr": "impossible de résoudre {host} : aucune adresse IPv4 ni IPv6",
        "en": "cannot resolve {host}: no IPv4 or IPv6 address",
    },
    "probe.error.connect": {
        "fr": "connexion à {host}:{port} impossible : {reason}",
        "en": "cannot connect to {host}:{port}: {reason}",
    },
    "probe.error.tls_certificate": {
        "fr": "certificat TLS refusé pour {host}:{port} : {reason}",
        "en": "TLS certificate of {host}:{port} refused: {reason}",
    },
    "probe.error.tls_handshake": {
        "fr": "échec de la négociation TLS avec {host}:{port} : {reason}",
        "en": "TLS handshake with {host}:{port} failed: {reason}",
    },
    "probe.error.invalid_answer": {
        "fr": "réponse HTTP invalide : {reason}",
        "en": "invalid HTTP answer: {reason}",
    },
    "probe.error.invalid_body": {
        "fr": "corps de réponse HTTP invalide : {reason}",
        "en": "invalid HTTP body: {reason}",
    },
    "probe.error.status": {
        "fr": "statut {status}, {expected} attendu",
        "en": "status {status}, expected {expected}",
    },
    "probe.error.status_redirect": {
        "fr": "statut {status}, {expected} attendu, redirige vers {location}",
        "en": "status {status}, expected {expected}, redirects to {location}",
    },
    "probe.error.keyword": {
        "fr": "mot-clé {keyword} introuvable",
        "en": "keyword {keyword} not found",
    },
    "probe.error.crashed": {"fr": "erreur de la sonde : {error}", "en": "probe error: {error}"},
    "probe.error.icmp_unavailable": {
        "fr": "icmp indisponible : {reason}",
        "en": "icmp unavailable: {reason}",
    },
    "probe.error.icmp6_unavailable": {
        "fr": "icmp indisponible en IPv6 : {reason}",
        "en": "icmp unavailable for IPv6: {reason}",
    },
    "probe.error.icmp_not_started": {
        "fr": "icmp indisponible : moteur non démarré",
        "en": "icmp unavailable: engine not started",
    },
    "probe.error.icmp_closing": {
        "fr": "icmp indisponible : moteur en cours d'arrêt",
        "en": "icmp unavailable: engine closing",
    },
    "probe.error.icmp.timeout": {
        "fr": "délai dépassé : aucune réponse à l'écho",
        "en": "timeout: no echo reply",
    },
    "probe.error.icmp.send_failed": {
        "fr": "échec de l'envoi : {reason}",
        "en": "send failed: {reason}",
    },
    "probe.error.icmp.closed": {"fr": "socket icmp fermée", "en": "icmp socket closed"},
    "probe.error.icmp.net_unreachable": {"fr": "réseau injoignable", "en": "network unreachable"},
    "probe.error.icmp.host_unreachable": {"fr": "hôte injoignable", "en": "host unreachable"},
    "probe.error.icmp.port_unreachable": {"fr": "port injoignable", "en": "port unreachable"},
    "probe.error.icmp.network_prohibited": {
        "fr": "réseau interdit par l'administrateur",
        "en": "network administratively prohibited",
    },
    "probe.error.icmp.host_prohibited": {
        "fr": "hôte interdit par l'administrateur",
        "en": "host administratively prohibited",
    },
    "probe.error.icmp.prohibited": {
        "fr": "communication interdite par l'administrateur",
        "en": "communication administratively prohibited",
    },
    "probe.error.icmp.unreachable_code": {
        "fr": "destination injoignable (code {code})",
        "en": "destination unreachable (code {code})",
    },
    "probe.error.icmp.ttl_exceeded": {
        "fr": "durée de vie (TTL) dépassée",
        "en": "time to live exceeded",
    },
    "probe.error.icmp.no_route": {
        "fr": "réseau injoignable (aucune route vers la destination)",
        "en": "network unreachable (no route to destination)",
    },
    "probe.error.icmp.beyond_scope": {
        "fr": "hors de la portée de l'adresse source",
        "en": "beyond scope of source address",
    },
    "probe.error.icmp.address_unreachable": {
        "fr": "adresse injoignable",
        "en": "address unreachable",
    },
    "probe.error.icmp.policy_failed": {
        "fr": "adresse source refusée par la politique d'entrée/sortie",
        "en": "source address failed ingress/egress policy",
    },
    "probe.error.icmp.reject_route": {
        "fr": "route de rejet vers la destination",
        "en": "reject route to destination",
    },
    "probe.error.icmp.hop_limit": {"fr": "limite de sauts dépassée", "en": "hop limit exceeded"},
    "alert.root.oncall": {"fr": "Astreinte : {mentions}", "en": "On call: {mentions}"},
    "alert.root.acknowledged": {
        "fr": "Prise en compte par <@{user}> à {at}.",
        "en": "Acknowledged by <@{user}> at {at}.",
    },
    "alert.root.acknowledged_earlier": {  # carried over from a previous outage (FLAP_WINDOW)
        "fr": "Prise en compte par <@{user}> à {at}, lors d'une panne précédente de ce serveur : "
        "elle vaut tant qu'il retombe en panne dans l'heure, et l'astreinte est appelée s'il "
        "est encore en panne à {lapse}.",
        "en": "Acknowledged by <@{user}> at {at}, on an earlier outage of this server: it "
        "carries over while the server keeps going down within the hour, and the on-call is "
        "paged if it is still down at {lapse}.",
    },
    "alert.root.acknowledged_earlier_held": {  # the same, recovered or held by other means
        "fr": "Prise en compte par <@{user}> à {at}, lors d'une panne précédente de ce serveur.",
        "en": "Acknowledged by <@{user}> at {at}, on an earlier outage of this server.",
    },
    "alert.thread.down_again": {  # in the thread of a ticket opened from an earlier outage
        "fr": ":repeat: {server} est de nouveau en panne depuis {since}, {gap} après son "
        "rétablissement. {count} ticket{count:s} toujours ouvert{count:s} : {refs} ; sa nouvelle "
        "alerte n'appelle l'astreinte que s'il est encore en panne dans une heure.",
        "en": ":repeat: {server} is down again since {since}, {gap} after it recovered. "
        "{count} ticket{count:s} still open: {refs}; its new alert pages the on-call only if it "
        "is still down an hour from now.",
    },
    "alert.root.maintenance": {
        "fr": ":wrench: Maintenance en cours ({ref}) : personne n'est alerté.",
        "en": ":wrench: Maintenance in progress ({ref}): nobody is paged.",
    },
    "alert.root.silenced": {
        "fr": ":no_bell: Alertes coupées jusqu'à {until}.",
        "en": ":no_bell: Alerts silenced until {until}.",
    },
    "alert.root.tickets": {"fr": "Tickets : {refs}", "en": "Tickets: {refs}"},
    "alert.text.down": {
        "fr": "{server} en panne ({client}, {level}) depuis {since}",
        "en": "{server} DOWN ({client}, {level}) since {since}",
    },
    "alert.text.recovered": {
        "fr": "{server} rétabli après {duration} ({client}, {level})",
        "en": "{server} recovered after {duration} ({client}, {level})",
    },
    "alert.thread.probe_down": {
        "fr": "Sonde `{probe}` en échec depuis {since} : {error}",
        "en": "Probe `{probe}` DOWN since {since}: {error}",
    },
    "alert.thread.lasts": {
        "fr": ":hourglass: {server} est en panne depuis {duration}.{mentions}",
        "en": ":hourglass: {server} has been down for {duration}.{mentions}",
    },
    "alert.thread.recovered": {
        "fr": ":white_check_mark: {server} rétabli après {duration} (de nouveau joignable à {at}).",
        "en": ":white_check_mark: {server} recovered after {duration} (back up at {at}).",
    },
    "alert.thread.acknowledged": {
        "fr": "<@{user}> a pris l'alerte en compte : plus de relance.",
        "en": "<@{user}> acknowledged the alert: no more pings.",
    },
    "alert.thread.storm_acknowledged": {
        "fr": "<@{user}> a pris la tempête en compte : plus de relance.",
        "en": "<@{user}> acknowledged the storm: no more pings.",
    },
    "alert.thread.silenced": {
        "fr": ":no_bell: <@{user}> a coupé les alertes {server:de} jusqu'à {until}{holds}.{reason}",
        "en": ":no_bell: <@{user}> silenced alerts for {server} until {until}{holds}.{reason}",
    },
    "alert.thread.silence_over": {
        "fr": ":bell: Fin du silence à {at} : {server} est toujours en panne, depuis {duration}."
        "{mentions}",
        "en": ":bell: Silence over at {at}: {server} is still down, for {duration} now.{mentions}",
    },
    "alert.thread.maintenance_over": {
        "fr": ":bell: Maintenance terminée ({ref}) : {server} est toujours en panne, depuis "
        "{duration}.{mentions}",
        "en": ":bell: Maintenance over ({ref}): {server} is still down, for {duration} now."
        "{mentions}",
    },
    "alert.reason": {"fr": " Raison : {reason}", "en": " Reason: {reason}"},
    "alert.certificate.expiring": {
        "fr": ":lock: Le certificat TLS {url:de} ({server}) expire dans {left}, le {at}. "
        "À renouveler avant : expiré, la sonde échouera et {server} sera en panne.",
        "en": ":lock: The TLS certificate of {url} ({server}) expires in {left}, on {at}. "
        "Renew it before then: once expired, the probe fails and {server} goes DOWN.",
    },
    "alert.certificate.expiring_unverified": {
        "fr": ":lock: Le certificat TLS {url:de} ({server}) expire dans {left}, le {at}. "
        "À renouveler avant.",
        "en": ":lock: The TLS certificate of {url} ({server}) expires in {left}, on {at}. "
        "Renew it before then.",
    },
    "alert.certificate.expired": {
        "fr": ":lock: Le certificat TLS {url:de} ({server}) a expiré le {at} : la sonde ne le "
        "vérifie pas, mais les navigateurs le refusent.",
        "en": ":lock: The TLS certificate of {url} ({server}) expired on {at}: the probe does "
        "not verify it, but browsers refuse it.",
    },
    "alert.storm.title": {
        "fr": ":rotating_light: *Tempête d'alertes depuis {since} : {down} serveur{down:s} "
        "actuellement en panne, {recovered} rétabli{recovered:s}* (sur {count})",
        "en": ":rotating_light: *Alert storm since {since}: {down} server{down:s} down now, "
        "{recovered} recovered* (of {count})",
    },
    "alert.storm.title_over": {
        "fr": ":large_green_circle: *Tempête terminée : {count} serveurs étaient en panne* "
        "({since} – {until})",
        "en": ":large_green_circle: *Alert storm over: {count} servers were down* "
        "({since} – {until})",
    },
    "alert.storm.text": {
        "fr": "Tempête d'alertes : {down} serveur{down:s} actuellement en panne, "
        "{recovered} rétabli{recovered:s} (sur {count})",
        "en": "Alert storm: {down} server{down:s} down now, {recovered} recovered (of {count})",
    },
    "alert.storm.text_over": {
        "fr": "Tempête terminée : {count} serveurs étaient en panne "
        "({recovered} rétabli{recovered:s})",
        "en": "Alert storm over: {count} servers were down ({recovered} recovered)",
    },
    "alert.storm.line_down": {
        "fr": "• :red_circle: `{server}` ({client})",
        "en": "• :red_circle: `{server}` ({client})",
    },
    "alert.storm.line_unprobed": {
        "fr": "• :white_circle: `{server}` ({client}), plus sondé",
        "en": "• :white_circle: `{server}` ({client}), no longer probed",
    },
    "alert.storm.line_maintenance": {
        "fr": "• :wrench: `{server}` ({client}), maintenance en cours ({ref})",
        "en": "• :wrench: `{server}` ({client}), maintenance in progress ({ref})",
    },
    "alert.storm.line_silenced": {
        "fr": "• :no_bell: `{server}` ({client}), alertes coupées jusqu'à {until}",
        "en": "• :no_bell: `{server}` ({client}), alerts silenced until {until}",
    },
    "alert.storm.line_tickets": {
        "fr": "• :red_circle: `{server}` ({client}), tickets : {refs}",
        "en": "• :red_circle: `{server}` ({client}), tickets: {refs}",
    },
    "alert.storm.line_acknowledged": {
        "fr": "• :red_circle: `{server}` ({client}), pris en compte par <@{user}>",
        "en": "• :red_circle: `{server}` ({client}), acknowledged by <@{user}>",
    },
    "alert.storm.line_up": {
        "fr": "• :large_green_circle: ~`{server}`~ ({client}), rétabli après {duration}",
        "en": "• :large_green_circle: ~`{server}`~ ({client}), recovered after {duration}",
    },
    "alert.storm.more": {"fr": "… et {count} autre{count:s}", "en": "… and {count} more"},
    "alert.storm.footer": {
        "fr": "{recovered}/{count} rétabli{recovered:s}. Le détail par serveur est dans le fil.",
        "en": "{recovered}/{count} recovered. Per-server details are in the thread.",
    },
    "alert.storm.detail": {
        "fr": "*{server}* ({client}, {level}) en panne depuis {since} :\n{probes}",
        "en": "*{server}* ({client}, {level}) down since {since}:\n{probes}",
    },
    "alert.not_found": {
        "fr": "Cette alerte n'existe plus.",
        "en": "This alert no longer exists.",
    },
    "alert.already_acknowledged": {
        "fr": "Déjà prise en compte par <@{user}>.",
        "en": "Already acknowledged by <@{user}>.",
    },
    "alert.already_recovered": {
        "fr": "{server} déjà rétabli à {at} : rien à prendre en compte ni à couper.",
        "en": "{server} already recovered at {at}: nothing to acknowledge or silence.",
    },
    "alert.storm_already_over": {
        "fr": "Cette tempête est terminée depuis {at} : tous ses serveurs sont rétablis.",
        "en": "This storm was over at {at}: all its servers recovered.",
    },
    "alert.storm_already_over_unprobed": {  # ended by servers down removed from the catalog
        "fr": "Cette tempête est terminée depuis {at} : les serveurs alors sondés étaient tous "
        "rétablis, et le catalogue ne sondait plus les autres.",
        "en": "This storm was over at {at}: the servers probed then had all recovered, and the "
        "catalog no longer probed the others.",
    },
    "alert.storm_acknowledged": {
        "fr": "Tempête prise en compte ({count} serveur{count:s} encore en panne).",
        "en": "You acknowledged the storm ({count} server{count:s} still down).",
    },
    "alert.acknowledged": {
        "fr": "Alerte sur {server} prise en compte.",
        "en": "You acknowledged the alert on {server}.",
    },
    "alert.silenced": {
        "fr": (
            "Alertes du serveur `{server}` coupées jusqu'à {until}{holds}. "
            "Les pannes restent enregistrées."
        ),
        "en": "Alerts for `{server}` silenced until {until}{holds}. Outages are still recorded.",
    },
    "alert.silence_holds": {  # a silence that ends later wins: a shorter one changes nothing
        "fr": " : un silence en cours jusqu'à {until} reste en vigueur",
        "en": ": a silence in force until {until} still holds",
    },
    "error.modal_refused": {
        "fr": (
            "Slack n'a pas ouvert le formulaire (le clic a peut-être expiré) : cliquez à nouveau."
        ),
        "en": "Slack did not open the form (the click may have expired): click again.",
    },
    "alert.already_silenced": {
        "fr": "Alertes du serveur `{server}` déjà coupées jusqu'à {until}.",
        "en": "Alerts for `{server}` are already silenced until {until}.",
    },
    "alert.silence_reason_button": {"fr": "bouton Silence 1h", "en": "Silence 1h button"},
    "usage.silence": {
        "fr": "Usage : `/sla silence <serveur> <durée> [raison…]` (de 1m à 7j, ex. `2h`)",
        "en": "Usage: `/sla silence <server> <duration> [reason…]` (1m to 7d, e.g. `2h`)",
    },
    "usage.silence_order": {
        "fr": ("Le serveur d'abord, puis la durée : `/sla silence {server} {duration} [raison…]`"),
        "en": "The server first, then the duration: `/sla silence {server} {duration} [reason…]`",
    },
    "usage.silence_duration": {
        "fr": (
            "`{value}` n'est pas une durée de silence : de 1m à 7j, ex. `30m`, `2h`, `1h30`, "
            "`1j`. Usage : `/sla silence <serveur> <durée> [raison…]`"
        ),
        "en": (
            "`{value}` is not a silence duration: 1m to 7d, e.g. `30m`, `2h`, `1h30`, `1d`. "
            "Usage: `/sla silence <server> <duration> [reason…]`"
        ),
    },
    "button.open_intervention": {"fr": "Ouvrir une intervention", "en": "Open intervention"},
    "button.acknowledge": {"fr": "Prendre en compte", "en": "Acknowledge"},
    "button.silence_1h": {"fr": "Silence 1h", "en": "Silence 1h"},
    "modal.open.title": {"fr": "Nouvelle intervention", "en": "New intervention"},
    "modal.open.submit": {"fr": "Ouvrir", "en": "Open"},
    "modal.open.server": {"fr": "Serveur", "en": "Server"},
    "modal.open.kind": {"fr": "Type", "en": "Kind"},
    "modal.open.at": {
        "fr": "Heure de l'appel (HH:MM ou ISO-8601)",
        "en": "Call time (HH:MM or ISO-8601)",
    },
    "modal.open.description": {"fr": "Description", "en": "Description"},
    "modal.open.no_description": {
        "fr": "Décrivez l'intervention.",
        "en": "Describe the intervention.",
    },
    "modal.open.default_description": {
        "fr": "Alerte : {server} en panne depuis {since}",
        "en": "Alert: {server} down since {since}",
    },
    "ticket.gtr_restored": {
        "fr": ":white_check_mark: {server} répond de nouveau depuis {at} (sondes) : "
        "GTR du ticket {ref} arrêtée.{gtr} {mention}, merci de confirmer, puis "
        "`/intervention resolve {ref}`.",
        "en": ":white_check_mark: {server} is back up since {at} (probes): GTR of {ref} "
        "stopped.{gtr} {mention} please confirm, then `/intervention resolve {ref}`.",
    },
    # Warnings and nudges (issue 7) --------------------------------------------------------------
    "reminder.warning": {
        "fr": ":hourglass_flowing_sand: *{ref}* · {clock} {threshold} : il reste {remaining} de "
        "délai, échéance {deadline}.\n{server} · {client} · {assignee}{late}",
        "en": ":hourglass_flowing_sand: *{ref}* · {clock} {threshold}: {remaining} of open time "
        "left, due {deadline}.\n{server} · {client} · {assignee}{late}",
    },
    "reminder.threshold.fraction": {"fr": "à {percent} %", "en": "at {percent}%"},
    "reminder.threshold.before": {"fr": "bientôt dépassée", "en": "about to breach"},
    "reminder.breach": {
        "fr": ":rotating_light: *{ref}* · {clock} *dépassée* : l'échéance du {deadline} est "
        "passée ; le client peut demander un avoir.\n{server} · {client} · {assignee}{late}",
        "en": ":rotating_light: *{ref}* · {clock} *breached*: the {deadline} deadline passed; "
        "the client may request a credit.\n{server} · {client} · {assignee}{late}",
    },
    "reminder.breach_capped": {
        "fr": ":rotating_light: *{ref}* · {clock} *dépassée* : l'échéance du {deadline} est "
        "passée ; les avoirs du mois atteignent déjà le plafond, donc l'avoir de ce "
        "dépassement est nul.\n"
        "{server} · {client} · {assignee}{late}",
        "en": ":rotating_light: *{ref}* · {clock} *breached*: the {deadline} deadline passed; "
        "the month's credits already reach the cap, so this one is 0.\n"
        "{server} · {client} · {assignee}{late}",
    },
    "reminder.breach_nil_cap": {
        "fr": ":rotating_light: *{ref}* · {clock} *dépassée* : l'échéance du {deadline} est "
        "passée ; le plafond mensuel des avoirs est de {cap}, donc l'avoir de ce dépassement "
        "est nul.\n{server} · {client} · {assignee}{late}",
        "en": ":rotating_light: *{ref}* · {clock} *breached*: the {deadline} deadline passed; "
        "the monthly cap is {cap}, so its credit is 0.\n{server} · {client} · {assignee}{late}",
    },
    "reminder.breach_credit_moved": {
        "fr": ":rotating_light: *{ref}* · {clock} *dépassée* : l'échéance du {deadline} est "
        "passée ; son avoir est déjà {state} ({amount}).\n{server} · {client} · {assignee}{late}",
        "en": ":rotating_light: *{ref}* · {clock} *breached*: the {deadline} deadline passed; "
        "its credit is already {state} ({amount}).\n{server} · {client} · {assignee}{late}",
    },
    "reminder.nudge": {
        "fr": ":speech_balloon: *{ref}* : aucun point client depuis {silence}. Donnez des "
        "nouvelles au client ({server} · {client}).{late}",
        "en": ":speech_balloon: *{ref}*: no client update for {silence}. Please update the "
        "client ({server} · {client}).{late}",
    },
    "reminder.nudge_escalated": {
        "fr": ":loudspeaker: {mentions} *{ref}* : aucun point client depuis {silence}, "
        "{missed} relances sans réponse ({server} · {client}).{late}",
        "en": ":loudspeaker: {mentions} *{ref}*: no client update for {silence}, {missed} "
        "nudges unanswered ({server} · {client}).{late}",
    },
    "reminder.late": {
        "fr": "\n_En retard : prévu à {at} (le bot était arrêté)._",
        "en": "\n_Late: due at {at} (the bot was down)._",
    },
    "reminder.no_server": {"fr": "sans serveur", "en": "no server"},
    # Reports and credits (issue 8) ------------------------------------------------------------
    "usage.report_extra": {
        "fr": (
            "`{value}` est de trop ou illisible. Usage : `/sla report [<client>] [AAAA-MM] "
            "[public]`, chacun au plus une fois."
        ),
        "en": (
            "`{value}` is one word too many or unreadable. Usage: `/sla report [<client>] "
            "[YYYY-MM] [public]`, each at most once."
        ),
    },
    "usage.credit": {
        "fr": "Usage : `/sla credit request|grant|decline <ticket> [note…]`",
        "en": "Usage: `/sla credit request|grant|decline <ticket> [note…]`",
    },
    "usage.credit_verb": {
        "fr": (
            "`{value}` n'est pas un acte d'avoir : request, grant ou decline. "
            "Usage : `/sla credit request|grant|decline <ticket> [note…]`"
        ),
        "en": (
            "`{value}` is not a credit act: request, grant or decline. "
            "Usage: `/sla credit request|grant|decline <ticket> [note…]`"
        ),
    },
    "usage.bad_month": {
        "fr": "`{value}` n'est pas un mois : écrivez AAAA-MM, par exemple 2026-11.",
        "en": "`{value}` is not a month: write YYYY-MM, for example 2026-11.",
    },
    "usage.month_too_early": {
        "fr": "`{value}` est trop ancien : les rapports commencent en {first}-01.",
        "en": "`{value}` is too early: reports start at {first}-01.",
    },
    "report.unknown_client": {
        "fr": "Client inconnu `{value}`. Clients : {known}.",
        "en": "Unknown client `{value}`. Clients: {known}.",
    },
    "report.title": {
        "fr": "*Bilan SLA {month}* (fuseau {zone})",
        "en": "*SLA report {month}* ({zone} time)",
    },
    "report.empty": {"fr": "Aucun client.", "en": "No client."},
    "report.client": {
        "fr": "*{name}* (`{client}`) · niveau {level}",
        "en": "*{name}* (`{client}`) · level {level}",
    },
    "report.tickets": {
        "fr": "Tickets : {total} ({kinds}) · forfait {used}/{allowed}",
        "en": "Tickets: {total} ({kinds}) · allowance {used}/{allowed}",
    },
    "report.tickets_carried": {
        "fr": (
            "et {count} ticket{count:s} reporté{count:s} d'un mois précédent, "
            "listé{count:s} pour un avoir de ce mois"
        ),
        "en": (
            "and {count} ticket{count:s} carried over from an earlier month, "
            "listed for a credit of this month"
        ),
    },
    "report.client_removed": {
        "fr": "retiré du catalogue le {date}",
        "en": "removed from the catalog on {date}",
    },
    "report.out_of_scope": {
        "fr": "Hors forfait : {quoted} sur devis, {refused} refusé{refused:s}, {pending} à décider",
        "en": "Out of scope: {quoted} quoted, {refused} refused, {pending} pending",
    },
    "report.clocks": {
        "fr": (
            "Délais : {met} respecté{met:s}, {breached} dépassé{breached:s}, {running} en cours, "
            "{paused} en pause · "
            "GTR rétablies : {probe} confirmée{probe:s} par les sondes, {hand} à la main"
        ),
        "en": (
            "Clocks: {met} met, {breached} breached, {running} running, {paused} paused · "
            "GTR restorations: {probe} confirmed by probes, {hand} by hand"
        ),
    },
    "report.pauses": {
        "fr": "Attentes client : {count}, {total} au total",
        "en": "Waits on the client: {count}, {total} in total",
    },
    "report.outages": {
        "fr": "Pannes : {count}, {downtime} d'indisponibilité · disponibilité : {servers}",
        "en": "Outages: {count}, {downtime} of downtime · availability: {servers}",
    },
    "report.credits": {
        "fr": (
            "Avoirs : {eligible} éligible{eligible:s} {eligible_amount}, "
            "{requested} demandé{requested:s} {requested_amount}, "
            "{granted} accordé{granted:s} {granted_amount}, "
            "{declined} refusé{declined:s} {declined_amount} · plafond {cap}"
        ),
        "en": (
            "Credits: {eligible} eligible {eligible_amount}, {requested} requested "
            "{requested_amount}, {granted} granted {granted_amount}, {declined} declined "
            "{declined_amount} · cap {cap}"
        ),
    },
    "report.ticket": {
        "fr": "{ref} {kind} · {server} · appel {called} · {clock}{extra}",
        "en": "{ref} {kind} · {server} · called {called} · {clock}{extra}",
    },
    "report.clock": {
        "fr": "{clock} {verdict} ({taken} sur {budget})",
        "en": "{clock} {verdict} ({taken} of {budget})",
    },
    "report.verdict.running": {"fr": "en cours", "en": "running"},
    "report.verdict.paused": {"fr": "en pause", "en": "paused"},
    "report.restored.probe": {"fr": "rétablie (sondes)", "en": "restored (probes)"},
    "report.restored.hand": {"fr": "rétablie (à la main)", "en": "restored (by hand)"},
    "report.ticket_carried": {
        "fr": "(reporté : appel {month:de})",
        "en": "(carried over: called in {month})",
    },
    "report.no_clock": {"fr": "sans délai ({scope})", "en": "no clock ({scope})"},
    "report.ticket_paused": {
        "fr": "{count} attente{count:s}, {total}",
        "en": "{count} wait{count:s}, {total}",
    },
    "report.ticket_credit": {
        "fr": "avoir {amount} {state} ({month})",
        "en": "credit {amount} {state} ({month})",
    },
    "report.cut": {
        "fr": (
            "_Bilan trop long pour un message Slack : la suite manque ici. Le bilan complet : "
            "`/sla report <client> {month}` par client, ou `supportbot report --month {month}`._"
        ),
        "en": (
            "_Report too long for one Slack message: the rest is not shown here. The whole "
            "report: `/sla report <client> {month}` per client, or "
            "`supportbot report --month {month}`._"
        ),
    },
    "report.not_a_client_then": {
        "fr": "`{client}` n'était pas client en {month} (client {period}) : pas de bilan.",
        "en": "`{client}` was not a client in {month} (a client {period}): nothing to report.",
    },
    "report.client_since": {"fr": "depuis le {since}", "en": "from {since}"},
    "report.client_between": {
        "fr": "du {since} au {until}",
        "en": "from {since} to {until}",
    },
    "report.future_month": {
        "fr": "{month} n'a pas commencé : pas de bilan à faire.",
        "en": "{month} has not begun: there is nothing to report yet.",
    },
    "report.follows": {
        "fr": "Le bilan prend un peu de temps à établir : il suivra ici dans un instant.",
        "en": "The report takes a while to build: it will follow here in a moment.",
    },
    "report.posted": {
        "fr": "Bilan {month} publié dans le canal.",
        "en": "Report {month} posted in the channel.",
    },
    "credit.state.eligible": {"fr": "éligible", "en": "eligible"},
    "credit.state.requested": {"fr": "demandé", "en": "requested"},
    "credit.state.granted": {"fr": "accordé", "en": "granted"},
    "credit.state.declined": {"fr": "refusé", "en": "declined"},
    "credit.no_clock": {
        "fr": "{ref} n'a pas de délai contractuel (hors forfait) : pas d'avoir.",
        "en": "{ref} runs no contractual clock (out of scope): no credit.",
    },
    "credit.met": {
        "fr": "{ref} a respecté sa {clock} ({taken} sur {budget}) : pas d'avoir.",
        "en": "{ref} met its {clock} ({taken} of {budget}): no credit.",
    },
    "credit.not_breached": {
        "fr": (
            "La {clock} du ticket {ref} n'est pas dépassée ({taken} sur {budget}) : pas d'avoir."
        ),
        "en": "The {clock} of {ref} has not breached ({taken} of {budget}): no credit.",
    },
    "credit.wrong_state": {
        "fr": (
            "L'avoir {clock} du ticket {ref} est {state} : `{verb}` ne vaut que pour un avoir "
            "{expected}."
        ),
        "en": (
            "The {clock} credit of {ref} is {state}: `{verb}` applies only to a credit that is "
            "{expected}."
        ),
    },
    "credit.moved": {
        "fr": (
            "Avoir {clock} du ticket {ref} ({amount}, {month}) {state} par <@{user}>.{capped}{note}"
        ),
        "en": "{ref} {clock} credit ({amount}, {month}) {state} by <@{user}>.{capped}{note}",
    },
    "credit.capped": {
        "fr": (
            " Plafond mensuel de {cap} : ramené de {full}, les dépassements antérieurs du mois "
            "(refusés compris) en ayant pris {taken}."
        ),
        "en": (
            " Monthly cap {cap}: cut from {full}, the month's earlier breaches (declined ones "
            "included) having taken {taken}."
        ),
    },
    "error.not_available": {
        "fr": "`{command} {word}` n'est pas encore disponible dans cette version.",
        "en": "`{command} {word}` is not available in this version yet.",
    },
    "outbox.alerts_channel_failed": {
        "fr": (
            ":rotating_light: supportbot ne peut plus écrire dans le canal d'alertes `{channel}` "
            "(erreur Slack `{error}`) : les alertes n'y arrivent plus. Invitez le bot dans le "
            "canal ou corrigez `team.alerts_channel` ; `supportbot outbox status` compte les "
            "messages en échec."
        ),
        "en": (
            ":rotating_light: supportbot can no longer post to the alert channel `{channel}` "
            "(Slack error `{error}`): alerts do not reach it. Invite the bot to the channel or "
            "fix `team.alerts_channel`; `supportbot outbox status` counts the failed messages."
        ),
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
    "outbox.edit_target_gone": {
        "fr": (
            ":warning: Le message que le bot modifie dans `{channel}` a été supprimé dans Slack "
            "(erreur Slack `{error}`, clé `{key}`) : ses modifications ne sont plus affichées, "
            "et ce signalement n'est fait qu'une fois. Début du texte : {preview}"
        ),
        "en": (
            ":warning: The message the bot edits in `{channel}` was deleted in Slack "
            "(Slack error `{error}`, key `{key}`): its edits are no longer shown, and this is "
            "reported only once. Start of the text: {preview}"
        ),
    },
    "outbox.sent_plain": {
        "fr": (
            ":warning: Slack a refusé la mise en forme d'un message du bot dans `{channel}` "
            "(erreur Slack `{error}`, clé `{key}`) : il est envoyé en texte brut, sans ses "
            "boutons. Début du texte : {preview}"
        ),
        "en": (
            ":warning: Slack refused the layout of a bot message in `{channel}` (Slack error "
            "`{error}`, key `{key}`): it is sent as plain text, without its buttons. Start of "
            "the text: {preview}"
        ),
    },
    # Usage errors of the grammar -------------------------------------------------------------
    "usage.open": {
        "fr": "Usage : `/intervention open <serveur> <type> [--at HH:MM|ISO-8601] <description…>`",
        "en": "Usage: `/intervention open <server> <kind> [--at HH:MM|ISO-8601] <description…>`",
    },
    "usage.open_no_kind": {
        "fr": (
            "Le type manque : `/intervention open {server} <type> <description…>` (types : "
            "secours|incident, maintenance, utilisation|usage, materiel|hardware, reseau|network)"
        ),
        "en": (
            "The kind is missing: `/intervention open {server} <kind> <description…>` (kinds: "
            "secours|incident, maintenance, utilisation|usage, materiel|hardware, reseau|network)"
        ),
    },
    "usage.open_no_server": {
        "fr": "Le serveur manque : `/intervention open <serveur> {kind} <description…>`",
        "en": "The server is missing: `/intervention open <server> {kind} <description…>`",
    },
    "usage.open_no_description": {
        "fr": (
            "La description manque : "
            "`/intervention open <serveur> <type> [--at HH:MM|ISO-8601] <description…>`"
        ),
        "en": (
            "The description is missing: "
            "`/intervention open <server> <kind> [--at HH:MM|ISO-8601] <description…>`"
        ),
    },
    "usage.at_no_time": {
        "fr": (
            "`--at` prend l'heure de l'appel : `--at 15:30`, `--at 15h30` ou une date ISO-8601, "
            "puis la description."
        ),
        "en": (
            "`--at` takes the time of the call: `--at 15:30`, `--at 15h30` or an ISO-8601 "
            "instant, then the description."
        ),
    },
    "usage.at_first": {
        "fr": (
            "`--at` se place avant la description : "
            "`/intervention open <serveur> <type> --at HH:MM <description…>`."
        ),
        "en": (
            "`--at` goes before the description: "
            "`/intervention open <server> <kind> --at HH:MM <description…>`."
        ),
    },
    "usage.at_after_kind": {
        "fr": (
            "`--at` se place après le type : "
            "`/intervention open <serveur> <type> --at HH:MM <description…>`."
        ),
        "en": (
            "`--at` goes after the kind: "
            "`/intervention open <server> <kind> --at HH:MM <description…>`."
        ),
    },
    "usage.open_order": {
        "fr": (
            "Le serveur d'abord, puis le type : `/intervention open {server} {kind} <description…>`"
        ),
        "en": (
            "The server first, then the kind: `/intervention open {server} {kind} <description…>`"
        ),
    },
    "usage.claim": {
        "fr": "Usage : `/intervention claim <ticket>`",
        "en": "Usage: `/intervention claim <ticket>`",
    },
    "usage.show": {
        "fr": "Usage : `/intervention show <ticket>`",
        "en": "Usage: `/intervention show <ticket>`",
    },
    "usage.resume": {
        "fr": "Usage : `/intervention resume <ticket>`",
        "en": "Usage: `/intervention resume <ticket>`",
    },
    "usage.ticket_only": {
        "fr": (
            "Mots en trop : `{value}`. `{verb}` ne prend que le ticket : "
            "`/intervention {verb} <ticket>` (un texte pour le client va dans `update`)."
        ),
        "en": (
            "Too many words: `{value}`. `{verb}` takes only the ticket: "
            "`/intervention {verb} <ticket>` (text for the client goes in `update`)."
        ),
    },
    "usage.update": {
        "fr": "Usage : `/intervention update <ticket> <texte…>`",
        "en": "Usage: `/intervention update <ticket> <text…>`",
    },
    "usage.wait": {
        "fr": "Usage : `/intervention wait <ticket> <raison…>`",
        "en": "Usage: `/intervention wait <ticket> <reason…>`",
    },
    "usage.resolve": {
        "fr": "Usage : `/intervention resolve <ticket> [note…]`",
        "en": "Usage: `/intervention resolve <ticket> [note…]`",
    },
    "usage.reassign": {
        "fr": "Usage : `/intervention reassign <ticket> <@utilisateur>`",
        "en": "Usage: `/intervention reassign <ticket> <@user>`",
    },
    "usage.reassign_user": {
        "fr": (
            "`{value}` n'est pas un utilisateur : mentionnez un seul technicien (tapez `@` et "
            "choisissez-le dans la liste). Usage : `/intervention reassign <ticket> <@utilisateur>`"
        ),
        "en": (
            "`{value}` is not a user: mention one technician (type `@` and pick them from the "
            "list). Usage: `/intervention reassign <ticket> <@user>`"
        ),
    },
    "usage.reassign_extra": {
        "fr": (
            "Mots en trop : `{value}`. `reassign` ne prend qu'un utilisateur : "
            "`/intervention reassign <ticket> <@utilisateur>`"
        ),
        "en": (
            "Too many words: `{value}`. `reassign` takes one user: "
            "`/intervention reassign <ticket> <@user>`"
        ),
    },
    "usage.quote": {
        "fr": "Usage : `/intervention quote <ticket> [note…]`",
        "en": "Usage: `/intervention quote <ticket> [note…]`",
    },
    "usage.refuse": {
        "fr": "Usage : `/intervention refuse <ticket> [raison…]`",
        "en": "Usage: `/intervention refuse <ticket> [reason…]`",
    },
    "usage.snooze": {
        "fr": "Usage : `/intervention snooze <ticket> <durée>` (de 1m à 7j, ex. `30m`, `2h`)",
        "en": "Usage: `/intervention snooze <ticket> <duration>` (1m to 7d, e.g. `30m`, `2h`)",
    },
    "usage.snooze_duration": {
        "fr": (
            "`{value}` n'est pas une durée de relance : de 1m à 7j, ex. `30m`, `2h`, `1h30`, "
            "`1j`. Usage : `/intervention snooze <ticket> <durée>`"
        ),
        "en": (
            "`{value}` is not a snooze duration: 1m to 7d, e.g. `30m`, `2h`, `1h30`, `1d`. "
            "Usage: `/intervention snooze <ticket> <duration>`"
        ),
    },
    "usage.list_extra": {
        "fr": "Mots en trop : `{value}`. Usage : `/intervention list [mine|open|<client>]`",
        "en": "Too many words: `{value}`. Usage: `/intervention list [mine|open|<client>]`",
    },
    "usage.status_extra": {
        "fr": "Mots en trop : `{value}`. Usage : `/sla status [<client>|<serveur>|<ticket>]`",
        "en": "Too many words: `{value}`. Usage: `/sla status [<client>|<server>|<ticket>]`",
    },
    "usage.bad_ticket": {
        "fr": "`{value}` n'est pas un ticket : écrivez `INT-42` ou `42`.",
        "en": "`{value}` is not a ticket: write `INT-42` or `42`.",
    },
    "usage.bad_server": {
        "fr": "`{value}` n'est pas un identifiant de serveur.",
        "en": "`{value}` is not a server id.",
    },
    "usage.bad_kind": {
        "fr": (
            "Type inconnu `{value}` : secours|incident, maintenance, utilisation|usage, "
            "materiel|hardware, reseau|network."
        ),
        "en": (
            "Unknown kind `{value}`: secours|incident, maintenance, utilisation|usage, "
            "materiel|hardware, reseau|network."
        ),
    },
    "usage.unknown_verb": {
        "fr": "Sous-commande inconnue `{word}` pour `{command}`. Tapez `{command} help`.",
        "en": "Unknown subcommand `{word}` for `{command}`. Type `{command} help`.",
    },
    "usage.too_long": {
        "fr": "Commande trop longue (au plus {limit} caractères).",
        "en": "Command too long (at most {limit} characters).",
    },
    "usage.text_too_long": {
        "fr": "Texte trop long (au plus {limit} caractères).",
        "en": "Text too long (at most {limit} characters).",
    },
    # Refusals of the services -----------------------------------------------------------------
    "auth.refused": {
        "fr": "Seuls les techniciens peuvent faire cela ; la tentative est enregistrée.",
        "en": "Only technicians may do that; the attempt is recorded.",
    },
    "auth.unavailable": {
        "fr": "Slack n'a pas dit qui sont les techniciens (groupe {usergroup}) : rien n'a été "
        "fait. Réessayez dans un instant.",
        "en": "Slack did not say who the technicians are (user group {usergroup}), so nothing "
        "was done. Try again in a moment.",
    },
    "auth.group_gone": {
        "fr": "Slack refuse de lister le groupe des techniciens {usergroup} (`{error}` : "
        "désactivé, supprimé, ou lecture des groupes non autorisée à l'application) : rien n'a "
        "été fait. Seuls les techniciens nommés dans le catalogue peuvent agir d'ici là.",
        "en": "Slack refuses to list the technicians' user group {usergroup} (`{error}`: "
        "disabled, deleted, or the app may not read user groups), so nothing was done. Only the "
        "technicians the catalog names may act until this is fixed.",
    },
    "ticket.not_found": {
        "fr": "Le ticket INT-{id} n'existe pas.",
        "en": "Ticket INT-{id} does not exist.",
    },
    "ticket.unknown_server": {
        "fr": "Serveur inconnu `{server}`. Serveurs : {known}.",
        "en": "Unknown server `{server}`. Servers: {known}.",
    },
    "known.more": {
        "fr": "{names} et {more} autre{more:s}",
        "en": "{names}, and {more} more",
    },
    "ticket.unknown_client": {
        "fr": "`{value}` n'est ni un client, ni un serveur, ni un ticket.",
        "en": "`{value}` is neither a client, a server nor a ticket.",
    },
    "list.unknown_client": {
        "fr": (
            "`{value}` n'est pas un client. `list` prend `mine`, `open` ou un client : {known} "
            "(un serveur ou un ticket : `/sla status`)."
        ),
        "en": (
            "`{value}` is not a client. `list` takes `mine`, `open` or a client: {known} "
            "(for a server or a ticket: `/sla status`)."
        ),
    },
    "ticket.at_invalid": {
        "fr": (
            "Heure d'appel illisible `{value}` : écrivez HH:MM (`15:30`, `15h30` ou `15h`) ou "
            "une date ISO-8601."
        ),
        "en": (
            "Unreadable call time `{value}`: write HH:MM (`15:30`, `15h30` or `15h`) or an "
            "ISO-8601 instant."
        ),
    },
    "ticket.at_no_time": {
        "fr": (
            "Heure d'appel `{value}` sans heure : écrivez HH:MM, ou la date et l'heure "
            "(2026-11-27T09:30)."
        ),
        "en": "Call time `{value}` has no time of day: write HH:MM, or the date and time "
        "(2026-11-27T09:30).",
    },
    "ticket.at_future": {
        "fr": (
            "L'heure d'appel {at} est dans le futur (pour un autre jour, donnez la date : "
            "`AAAA-MM-JJTHH:MM`)."
        ),
        "en": (
            "The call time {at} is in the future (for another day, give the date: "
            "`YYYY-MM-DDTHH:MM`)."
        ),
    },
    "ticket.at_too_old": {
        "fr": "L'heure d'appel {at} remonte à plus de 24 h.",
        "en": "The call time {at} is more than 24 h ago.",
    },
    "ticket.already_yours": {
        "fr": "Vous avez déjà pris en charge {ref}.",
        "en": "You already have {ref}.",
    },
    "ticket.already_assigned": {
        "fr": "{ref} est déjà attribué à <@{user}>.",
        "en": "{ref} is already assigned to <@{user}>.",
    },
    "ticket.already_claimed": {
        "fr": "{ref} est déjà pris en charge par <@{user}>.",
        "en": "{ref} is already claimed by <@{user}>.",
    },
    "ticket.resolved": {
        "fr": "{ref} est déjà clos.",
        "en": "{ref} is already resolved.",
    },
    "ticket.confirmation_stale": {
        "fr": "{ref} a déjà été clos par <@{user}> : cette confirmation n'a plus d'objet, rien "
        "n'a été changé.",
        "en": "{ref} was already closed by <@{user}>: this confirmation no longer applies, "
        "nothing was changed.",
    },
    "ticket.closed_refused": {
        "fr": "{ref} est clos : hors forfait, refusé par le client.",
        "en": "{ref} is closed: out of scope, refused by the client.",
    },
    "ticket.scope_pending": {
        "fr": "{ref} est hors forfait : enregistrez d'abord `quote` ou `refuse`.",
        "en": "{ref} is out of scope: record `quote` or `refuse` first.",
    },
    "ticket.not_out_of_scope": {
        "fr": "{ref} n'attend pas de devis ni de refus.",
        "en": "{ref} is not waiting for a quote or a refusal.",
    },
    "ticket.not_claimed": {
        "fr": "{ref} n'est pas encore pris en charge : `claim` d'abord.",
        "en": "{ref} is not claimed yet: `claim` it first.",
    },
    "ticket.already_waiting": {
        "fr": "{ref} est déjà en attente client.",
        "en": "{ref} is already waiting on the client.",
    },
    "ticket.not_waiting": {
        "fr": "{ref} n'est pas en attente client.",
        "en": "{ref} is not waiting on the client.",
    },
    "ticket.still_down": {
        "fr": (
            "Les sondes voient encore {server} en panne : la GTR du ticket {ref} continue. "
            "Confirmez pour clore quand même (la GTR s'arrête maintenant)."
        ),
        "en": (
            "Probes still see {server} down: the GTR of {ref} keeps running. "
            "Confirm to resolve anyway (the GTR stops now)."
        ),
    },
    "ticket.note_too_long_to_confirm": {
        "fr": (
            "Votre note est trop longue pour suivre la confirmation : relancez `resolve {ref}` "
            "avec une note plus courte, ou publiez-la d'abord avec `update {ref}`."
        ),
        "en": (
            "Your note is too long to go with the confirmation: run `resolve {ref}` again with "
            "a shorter note, or post it first with `update {ref}`."
        ),
    },
    "ticket.not_technician": {
        "fr": "<@{user}> n'est pas technicien.",
        "en": "<@{user}> is not a technician.",
    },
    # Replies and thread posts -----------------------------------------------------------------
    "ticket.opened": {
        "fr": "{ref} enregistré : {kind} sur {server} ({client}), appel du {called}. {clock}",
        "en": "{ref} registered: {kind} on {server} ({client}), called at {called}. {clock}",
    },
    "ticket.opened_out_of_scope": {
        "fr": (
            "{ref} enregistré *hors forfait* : le forfait {client:de} est épuisé en {month} "
            "({used}/{allowed}). Aucun délai ne court. Enregistrez `quote {ref}` ou `refuse {ref}`."
        ),
        "en": (
            "{ref} registered *out of scope*: {client}'s allowance is used up in {month} "
            "({used}/{allowed}). No clock runs. Record `quote {ref}` or `refuse {ref}`."
        ),
    },
    "ticket.opened.already_open": {
        "fr": (
            ":warning: {server} a déjà {count} ticket{count:s} ouvert{count:s} : {tickets}. "
            "Vérifiez que le ticket {ref} n'est pas un doublon."
        ),
        "en": (
            ":warning: {server} already has {count} open ticket{count:s}: {tickets}. "
            "Check that {ref} is not a duplicate."
        ),
    },
    "modal.open.already_open": {
        "fr": (
            ":warning: {server} a déjà {count} ticket{count:s} ouvert{count:s} : {tickets}. "
            "N'en ouvrez un autre que pour un autre appel."
        ),
        "en": (
            ":warning: {server} already has {count} open ticket{count:s}: {tickets}. "
            "Open another only for a different call."
        ),
    },
    "ticket.opened.already_open.more": {
        "fr": "et {more} autre{more:s}",
        "en": "and {more} more",
    },
    "ticket.opened.already_open.item": {
        "fr": "{ref} ({kind}, {assignee})",
        "en": "{ref} ({kind}, {assignee})",
    },
    "ticket.claimed_gti": {
        "fr": (
            "{ref} pris en charge par <@{user}>. "
            "GTI {verdict} : {taken} de délai consommé sur {budget}."
        ),
        "en": "{ref} claimed by <@{user}>. GTI {verdict}: {taken} of open time, budget {budget}.",
    },
    "ticket.claimed_gti_after_close": {
        "fr": (
            "{ref} pris en charge par <@{user}>. GTI {verdict} : échéance {deadline}, "
            "prise en charge après la fermeture ({taken} de délai sur {budget})."
        ),
        "en": (
            "{ref} claimed by <@{user}>. GTI {verdict}: due {deadline}, claimed after closing "
            "time ({taken} of open time, budget {budget})."
        ),
    },
    "ticket.claimed": {
        "fr": "{ref} pris en charge par <@{user}>.",
        "en": "{ref} claimed by <@{user}>.",
    },
    "ticket.claimed_paused": {
        "fr": (
            " Le délai est suspendu depuis {since} (attente client : {reason}) ; "
            "`/intervention resume {id}` le fait repartir."
        ),
        "en": (
            " The clock is paused since {since} (waiting on the client: {reason}); "
            "`/intervention resume {id}` restarts it."
        ),
    },
    "ticket.claimed_waiting": {
        "fr": (
            " Toujours en attente client depuis {since} ({reason}) : aucune relance avant "
            "`/intervention resume {id}`."
        ),
        "en": (
            " Still waiting on the client since {since} ({reason}): no update nudge until "
            "`/intervention resume {id}`."
        ),
    },
    "ticket.updated": {
        "fr": "Point client sur {ref} par <@{user}> : {text}",
        "en": "Client update on {ref} by <@{user}>: {text}",
    },
    # The reason comes as a sentence, ended by its own punctuation (render.sentence).
    "ticket.waiting": {
        "fr": "{ref} en attente client (<@{user}>) : {text} Le délai est suspendu.",
        "en": "{ref} is waiting on the client (<@{user}>): {text} The clock is paused.",
    },
    "ticket.waiting_breached": {
        "fr": (
            "{ref} en attente client (<@{user}>) : {text} La {clock} est dépassée depuis "
            "{deadline} : l'attente n'y change rien."
        ),
        "en": (
            "{ref} is waiting on the client (<@{user}>): {text} The {clock} breached at "
            "{deadline}: the wait does not change that."
        ),
    },
    "ticket.waiting_no_clock": {
        "fr": "{ref} en attente client (<@{user}>) : {text} Aucun délai ne court.",
        "en": "{ref} is waiting on the client (<@{user}>): {text} No clock is running.",
    },
    "ticket.resumed": {
        "fr": "{ref} reprend (<@{user}>) après {paused} d'attente client.",
        "en": "{ref} resumed (<@{user}>) after {paused} waiting on the client.",
    },
    "ticket.resolved_by": {
        "fr": "{ref} clos par <@{user}>.{clock}{wait}{note}",
        "en": "{ref} resolved by <@{user}>.{clock}{wait}{note}",
    },
    # A wait on the client that closing the ticket ends (resolve, refuse): said, as resume does.
    "ticket.wait_ended": {
        "fr": " L'attente client en cours depuis {since} ({paused}) prend fin avec lui.",
        "en": " The wait on the client since {since} ({paused}) ends with it.",
    },
    "ticket.gti_stopped": {
        "fr": " GTI {verdict} : {taken} de délai consommé sur {budget}.",
        "en": " GTI {verdict}: {taken} of open time, budget {budget}.",
    },
    "ticket.gtr_stopped": {
        "fr": " GTR {verdict} : {taken} de délai consommé sur {budget}.",
        "en": " GTR {verdict}: {taken} of open time, budget {budget}.",
    },
    "ticket.gti_stopped_after_close": {
        "fr": " GTI {verdict} : échéance {deadline}, arrêtée après la fermeture ({taken} de "
        "délai sur {budget}).",
        "en": " GTI {verdict}: due {deadline}, stopped after closing time ({taken} of open time, "
        "budget {budget}).",
    },
    "ticket.gtr_stopped_after_close": {
        "fr": " GTR {verdict} : échéance {deadline}, arrêtée après la fermeture ({taken} de "
        "délai sur {budget}).",
        "en": " GTR {verdict}: due {deadline}, stopped after closing time ({taken} of open time, "
        "budget {budget}).",
    },
    "ticket.note": {"fr": " Note : {text}", "en": " Note: {text}"},
    "ticket.reassigned": {
        "fr": "{ref} réassigné à <@{user}> par <@{by}>.",
        "en": "{ref} reassigned to <@{user}> by <@{by}>.",
    },
    "ticket.quoted": {
        "fr": "Devis enregistré pour {ref} par <@{user}> : hors forfait, sans délai "
        "garanti.{left}{note}",
        "en": "Quote recorded for {ref} by <@{user}>: out of scope, no guaranteed "
        "delay.{left}{note}",
    },
    "ticket.always_in_scope": {
        "fr": "{ref} est un ticket {kind} : le contrat le couvre toujours, il ne peut pas sortir "
        "du forfait.",
        "en": "{ref} is a {kind} ticket: the contract always covers it, it cannot leave the "
        "forfait.",
    },
    "ticket.left_forfait": {
        "fr": " La demande sort du forfait : ses délais garantis sont retirés{credits}, et elle "
        "ne compte plus dans le forfait du mois.",
        "en": " The request is outside the forfait: its clocks are withdrawn{credits}, and it no "
        "longer counts towards the month's allowance.",
    },
    "ticket.credits_withdrawn": {
        "fr": ", avec l'avoir que leur dépassement ouvrait",
        "en": ", with the credit their breach made eligible",
    },
    "ticket.credit_requested": {
        "fr": "{ref} a un avoir {clock} demandé : refusez-le d'abord (`/sla credit decline {ref}`) "
        "si la demande sort du forfait.",
        "en": "{ref} has a {clock} credit requested: decline it first "
        "(`/sla credit decline {ref}`) if the request is outside the forfait.",
    },
    "ticket.credit_granted": {
        "fr": "{ref} a un avoir {clock} accordé au client : il reste dans le forfait.",
        "en": "{ref} has a {clock} credit granted to the client: it stays within the forfait.",
    },
    "ticket.refused": {
        "fr": "{ref} refusé (hors forfait) par <@{user}> ; ticket clos.{left}{wait}{note}",
        "en": "{ref} refused (out of scope) by <@{user}>; ticket closed.{left}{wait}{note}",
    },
    "ticket.snoozed": {
        "fr": "Relances du ticket {ref} repoussées jusqu'à {until} par <@{user}>.",
        "en": "Update nudges of {ref} delayed until {until} by <@{user}>.",
    },
    "ticket.snooze_no_effect": {
        "fr": (
            "Rien à repousser : la prochaine relance du ticket {ref} est prévue à {next}, "
            "déjà après {until}."
        ),
        "en": (
            "Nothing to delay: the next update nudge of {ref} is due at {next}, "
            "after {until} anyway."
        ),
    },
    "ticket.snooze_no_effect_same_time": {
        "fr": (
            "Rien à repousser : la prochaine relance du ticket {ref} est déjà prévue à {next}, "
            "l'heure demandée."
        ),
        "en": (
            "Nothing to delay: the next update nudge of {ref} is already due at {next}, "
            "the time asked for."
        ),
    },
    "verdict.met": {"fr": "respectée", "en": "met"},
    "verdict.breached": {"fr": "*dépassée*", "en": "*breached*"},
    # Rendering ----------------------------------------------------------------------------------
    # A month as a reply names it, when "this month" may not be the one meant.
    "month.1": {"fr": "janvier {year}", "en": "January {year}"},
    "month.2": {"fr": "février {year}", "en": "February {year}"},
    "month.3": {"fr": "mars {year}", "en": "March {year}"},
    "month.4": {"fr": "avril {year}", "en": "April {year}"},
    "month.5": {"fr": "mai {year}", "en": "May {year}"},
    "month.6": {"fr": "juin {year}", "en": "June {year}"},
    "month.7": {"fr": "juillet {year}", "en": "July {year}"},
    "month.8": {"fr": "août {year}", "en": "August {year}"},
    "month.9": {"fr": "septembre {year}", "en": "September {year}"},
    "month.10": {"fr": "octobre {year}", "en": "October {year}"},
    "month.11": {"fr": "novembre {year}", "en": "November {year}"},
    "month.12": {"fr": "décembre {year}", "en": "December {year}"},
    # The unit of days in a duration shown to people: "1j5h" in French ("1d" in the catalog).
    "duration.day": {"fr": "j", "en": "d"},
    "duration.under_a_minute": {"fr": "<1m", "en": "<1m"},
    "kind.secours": {"fr": "secours", "en": "incident"},
    "kind.maintenance": {"fr": "maintenance", "en": "maintenance"},
    "kind.utilisation": {"fr": "utilisation", "en": "usage"},
    "kind.materiel": {"fr": "matériel", "en": "hardware"},
    "kind.reseau": {"fr": "réseau", "en": "network"},
    "status.open": {"fr": "à prendre", "en": "unclaimed"},
    "status.claimed": {"fr": "en cours", "en": "in progress"},
    "status.waiting": {"fr": "attente client", "en": "waiting on client"},
    "status.resolved": {"fr": "clos", "en": "resolved"},
    "scope.pending": {"fr": "hors forfait, à décider", "en": "out of scope, to decide"},
    "scope.quoted": {"fr": "hors forfait, devis", "en": "out of scope, quoted"},
    "scope.refused": {"fr": "hors forfait, refusé", "en": "out of scope, refused"},
    "clock.running": {
        "fr": "{clock} {budget} : reste {remaining}, échéance {deadline}",
        "en": "{clock} {budget}: {remaining} left, due {deadline}",
    },
    "clock.paused": {
        "fr": "{clock} {budget} : suspendue, reste {remaining}",
        "en": "{clock} {budget}: paused, {remaining} left",
    },
    "clock.breached_running": {
        "fr": "{clock} {budget} : *dépassée* depuis {deadline}",
        "en": "{clock} {budget}: *breached* since {deadline}",
    },
    "clock.met": {
        "fr": "{clock} {budget} : respectée ({taken})",
        "en": "{clock} {budget}: met ({taken})",
    },
    "clock.breached": {
        "fr": "{clock} {budget} : *dépassée* ({taken})",
        "en": "{clock} {budget}: *breached* ({taken})",
    },
    "clock.none": {"fr": "aucun délai", "en": "no clock"},
    "root.title": {
        "fr": "{ref} · {kind} · {server} · {client} ({level})",
        "en": "{ref} · {kind} · {server} · {client} ({level})",
    },
    "root.fields": {
        "fr": "*État :* {status} · *Technicien :* {assignee} · *Appel :* {called}",
        "en": "*Status:* {status} · *Assignee:* {assignee} · *Called:* {called}",
    },
    "root.as_of": {"fr": "au {at}", "en": "as of {at}"},
    "root.nobody": {"fr": "personne", "en": "nobody"},
    "button.claim": {"fr": "Prendre en charge", "en": "Claim"},
    "button.update": {"fr": "Point client", "en": "Post update"},
    "button.resolve": {"fr": "Clore", "en": "Resolve"},
    "button.resolve_anyway": {"fr": "Clore quand même", "en": "Resolve anyway"},
    "modal.update.title": {"fr": "Point client", "en": "Client update"},
    "modal.update.label": {"fr": "Ce qui a été dit au client", "en": "What the client was told"},
    "modal.update.empty": {
        "fr": "Écrivez ce qui a été dit au client.",
        "en": "Write what the client was told.",
    },
    "modal.submit": {"fr": "Enregistrer", "en": "Save"},
    "list.header.one": {"fr": "1 ticket {what}", "en": "1 ticket {what}"},
    "list.header.other": {"fr": "{count} tickets {what}", "en": "{count} tickets {what}"},
    "list.more.one": {
        "fr": "… et 1 ticket moins urgent, non affiché.",
        "en": "… and 1 less urgent ticket, not shown.",
    },
    "list.more.other": {
        "fr": "… et {more} tickets moins urgents, non affichés.",
        "en": "… and {more} less urgent tickets, not shown.",
    },
    "list.empty": {"fr": "Aucun ticket {what}.", "en": "No ticket {what}."},
    # What is listed, agreeing in French with one ticket or several.
    "list.what.open.one": {"fr": "ouvert", "en": "open"},
    "list.what.open.other": {"fr": "ouverts", "en": "open"},
    "list.what.mine.one": {"fr": "à vous", "en": "assigned to you"},
    "list.what.mine.other": {"fr": "à vous", "en": "assigned to you"},
    "list.what.client.one": {"fr": "ouvert pour {client}", "en": "open for {client}"},
    "list.what.client.other": {"fr": "ouverts pour {client}", "en": "open for {client}"},
    "list.what.server.one": {"fr": "ouvert sur {server}", "en": "open on {server}"},
    "list.what.server.other": {"fr": "ouverts sur {server}", "en": "open on {server}"},
    "list.line": {
        "fr": "*{ref}* {kind} · {server} · {status} · {assignee} — {clock}",
        "en": "*{ref}* {kind} · {server} · {status} · {assignee} — {clock}",
    },
    "status.down": {
        "fr": ":red_circle: `{server}` en panne depuis {since} ({duration}){acknowledged}",
        "en": ":red_circle: `{server}` DOWN since {since} ({duration}){acknowledged}",
    },
    "status.acknowledged": {
        "fr": " · pris en compte par <@{user}>",
        "en": " · acknowledged by <@{user}>",
    },
    "status.silenced": {
        "fr": ":no_bell: `{server}` : alertes coupées jusqu'à {until}.{reason}",
        "en": ":no_bell: `{server}`: alerts silenced until {until}.{reason}",
    },
    "status.allowance": {
        "fr": "{client} ({level}) : {used}/{allowed} interventions ce mois-ci",
        "en": "{client} ({level}): {used}/{allowed} interventions this month",
    },
    "show.waiting": {
        "fr": "En attente du client depuis le {since} (<@{user}>) : {reason}",
        "en": "Waiting on the client since {since} (<@{user}>): {reason}",
    },
    "show.resolved": {
        "fr": "Clos par {user} le {at}.{note}",
        "en": "Resolved by {user} on {at}.{note}",
    },
    "show.refused": {
        "fr": "Refusé (hors forfait) par {user} le {at}.{note}",
        "en": "Refused (out of scope) by {user} on {at}.{note}",
    },
    "show.credit": {
        "fr": "Avoir {clock} : {state}{amount}.{hint}",
        "en": "{clock} credit: {state}{amount}.{hint}",
    },
    "show.credit.amount": {"fr": ", {amount}", "en": ", {amount}"},
    "show.credit.hint": {
        "fr": " À la demande du client : `/sla credit request {ref}`.",
        "en": " At the client's request: `/sla credit request {ref}`.",
    },
    "show.registered": {
        "fr": "Enregistré par <@{opener}> le {registered}.",
        "en": "Registered by <@{opener}> on {registered}.",
    },
    "error.database_unavailable": {
        "fr": "La base de données ne répond pas pour le moment : rien n'a été fait. "
        "Réessayez dans un instant.",
        "en": "The database is not answering right now, so nothing was done. "
        "Try again in a moment.",
    },
    "error.bad_payload": {
        "fr": "Ce bouton ou ce formulaire ne désigne rien que le bot sache lire : passez par la "
        "commande `/intervention`.",
        "en": "This button or form names nothing the bot can read: use the `/intervention` "
        "command instead.",
    },
    "error.too_slow": {
        "fr": "Le bot n'a pas pu l'enregistrer dans les 3 secondes que Slack accorde (base de "
        "données ou Slack lents) : rien n'a été fait. Réessayez dans un instant.",
        "en": "The bot could not record this within the 3 seconds Slack allows (the database "
        "or Slack is slow), so nothing was done. Try again in a moment.",
    },
    "error.internal": {
        "fr": "Erreur interne : rien n'a été perdu, le détail est dans les journaux du bot.",
        "en": "Internal error: nothing was lost, the details are in the bot's logs.",
    },
}


_MENTION = re.compile(r"(<@(?:\{\w+\}|[UW][A-Z0-9]+)>)")


@functools.cache
def _slack_safe(template: str) -> str:
    """Escape a template's literal `<` and `>` (as in `<ticket>`), keeping `<@…>` mentions."""
    parts = _MENTION.split(template)
    return "".join(
        part if _MENTION.fullmatch(part) else part.replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


# Before a vowel, "de" is elided: "d'ACME", "d'Intermarché". Not before an h, aspirated or not
# ("de Hachette", "d'Hôtel": no rule tells them apart), nor a y ("de Yoplait").
_ELIDES = re.compile(r"[aeiouàâäéèêëîïôöùûü]", re.IGNORECASE)


class _Formatter(string.Formatter):
    """`str.format` with two more format specs:

    - `de`: the French preposition, elided or not (`le forfait {client:de}`);
    - `s`: the plural ending a count gives the word before it (`{n} refusé{n:s}`): in French
      from 2 on ("0 refusé", "1 refusé", "2 refusés"), in English for any count but 1.
    """

    def __init__(self, language: Language) -> None:
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "de":
            text = str(value)
            return f"d'{text}" if _ELIDES.match(text) else f"de {text}"
        if format_spec == "s":
            if not isinstance(value, int):
                raise TypeError(f"a plural ending needs a count, not {value!r}")
            plural = value >= 2 if self.language == "fr" else value != 1
            return "s" if plural else ""
        return str(super().format_field(value, format_spec))


_FORMATTERS: dict[Language, _Formatter] = {"fr": _Formatter("fr"), "en": _Formatter("en")}


@dataclass(frozen=True)
class Messages:
    """The message catalog in one language."""

    language: Language = "fr"

    def decimal(self, value: Decimal | float, places: int) -> str:
        """A number with `places` decimals as the language writes it: 0.25 (en), 0,25 (fr)."""
        text = f"{value:.{places}f}"
        return text.replace(".", ",") if self.language == "fr" else text

    def number(self, value: float) -> str:
        """A number in its shortest form, as the language writes it: 33.3 (en), 33,3 (fr)."""
        text = f"{value:g}"
        return text.replace(".", ",") if self.language == "fr" else text

    def month(self, year: int, month: int) -> str:
        """A month as the language names it: November 2026 (en), novembre 2026 (fr). Not for
        a month to be typed back (`/sla report … 2026-11`): commands take YYYY-MM."""
        return self.get(f"month.{month}", year=year)

    def money(self, amount: Decimal | float) -> str:
        """An amount in euros: 50.00 € (en), 50,00 € (fr)."""
        return f"{self.decimal(amount, 2)} €"

    def get(self, key: str, /, **values: object) -> str:
        """The text for `key` with `values` filled in; KeyError on an unknown key or placeholder.

        Values are inserted as given: callers escape user text (bot.slack.render.escape).
        """
        template = _slack_safe(CATALOG[key][self.language])
        if ":de}" in template or ":s}" in template:
            return _FORMATTERS[self.language].format(template, **values)
        return template.format(**values)
