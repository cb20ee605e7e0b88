"""What the hotline texts back, in the worker's language, from the Babel catalogs in locales/."""

from __future__ import annotations

import enum
import logging

from intake.i18n import catalog

log = logging.getLogger(__name__)


def _(message: str) -> str:
    """Mark a string for extraction; it is translated later, per worker, by `render`."""
    return message


class Reply(enum.Enum):
    """Every kind of answer a worker can get, each one SMS text in the catalogs."""

    # Translators: one SMS; scripts/check-sms-length must pass (2 segments at most).
    # Translators: %(code)s is a 6-character report code like K7P4QX the worker types back.
    # Translators: keep STOP in Latin letters: the phone company reacts to that word.
    NEW_REPORT = _(
        "Report %(code)s received. Your number is hidden from everyone. "
        "Text again to add details. Reply STOP to stop."
    )
    # Translators: one SMS, sent when a worker adds to a report; scripts/check-sms-length.
    FOLLOW_UP = _(
        "Added to report %(code)s. Your number stays hidden. Text again to add more. "
        "Reply STOP to stop."
    )
    # Translators: one SMS, the answer to HELP; keep STOP in Latin letters.
    HELP = _(
        "This hotline is for problems at work. Your number is hidden. "
        "Text what happened. Reply STOP to stop."
    )
    # Translators: one SMS, the answer to START after the worker had sent STOP.
    RESUMED = _("You will get messages from this hotline again. Text us any time.")
    # Translators: one SMS, when a message arrived with no text (only a picture).
    EMPTY = _("We got your message but it had no text. Please write what happened.")


def render(reply: Reply, language: str, **values: str) -> str:
    """The reply's text in `language` (English where no catalog exists), values filled in."""
    try:
        return catalog(language).gettext(reply.value) % values
    except Exception as error:
        # A broken catalog must not cost the worker their message: answer in English.
        log.error("reply %s in %s not rendered: %s", reply.name, language, type(error).__name__)
        return reply.value % values
