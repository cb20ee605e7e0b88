"""The keywords Twilio's opt-out handling reacts to, so that intake records what Twilio enforces."""

from __future__ import annotations

import enum


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Twilio's default Advanced Opt-Out keywords; the whole message must be the keyword.
_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        Keyword.OPT_OUT,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


def keyword(text: str) -> Keyword | None:
    """The keyword a message consists of, if it is one."""
    return _KEYWORDS.get(text.strip().strip(".!?").strip().upper())
