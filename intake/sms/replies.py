"""What the hotline texts back, in the worker's language, from the catalogs in intake/locales/."""

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
    # Translators: one SMS, the check-back survey sent when a remedy is reported done.
    # Translators: %(problem)s is a short name of the problem (see the "problem" entries).
    # Translators: the worker answers 1, 2 or 3: keep the digits and their order.
    SURVEY = _(
        "Report %(code)s (%(problem)s): has it been fixed? Reply 1 yes, 2 partly, 3 no. "
        "Reply STOP to stop."
    )
    # Translators: one SMS, after a worker said the problem was fixed.
    SURVEY_THANKS = _("Thank you for your answer. Your number stays hidden.")
    # Translators: one SMS, after a worker said the problem was not (fully) fixed.
    SURVEY_REOPENED = _("Thank you. We will look into it again. Your number stays hidden.")


def pgettext(context: str, message: str) -> str:
    """Mark a string with a context for extraction; `problem_label` translates it."""
    return message


# The problem a survey asks about, per taxonomy code: a few words, shown in parentheses.
PROBLEMS = {
    # Translators: a short name of a problem at work, shown in parentheses in a survey SMS.
    "forced_labour": pgettext("problem", "forced labour"),
    "child_labour": pgettext("problem", "child labour"),
    "working_hours": pgettext("problem", "working hours"),
    "wages": pgettext("problem", "wages"),
    "harsh_treatment": pgettext("problem", "harsh treatment"),
    "discrimination": pgettext("problem", "discrimination"),
    "freedom_of_association": pgettext("problem", "freedom to join a union"),
    "health_safety": pgettext("problem", "health and safety"),
    "living_conditions": pgettext("problem", "living conditions"),
    "employment_terms": pgettext("problem", "job contract"),
    "retaliation": pgettext("problem", "punishment for complaining"),
    "other": pgettext("problem", "the problem you reported"),
}


def problem_label(code: str | None, language: str) -> str:
    """The short name of a taxonomy code in `language` (a generic one for unknown codes)."""
    label = PROBLEMS.get(code or "other", PROBLEMS["other"])
    try:
        return str(catalog(language).pgettext("problem", label))
    except Exception as error:
        log.error("problem label in %s not rendered: %s", language, type(error).__name__)
        return label


def render(reply: Reply, language: str, **values: str) -> str:
    """The reply's text in `language` (English where no catalog exists), values filled in."""
    try:
        return catalog(language).gettext(reply.value) % values
    except Exception as error:
        # A broken catalog must not cost the worker their message: answer in English.
        log.error("reply %s in %s not rendered: %s", reply.name, language, type(error).__name__)
        return reply.value % values
