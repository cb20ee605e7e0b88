"""gunicorn's settings for the Procfile's web process (gunicorn reads this file at start)."""

import logging
import re

from gunicorn.glogging import Logger

# Paths without their query strings, and no Referer: a monitor's search (`/admin/?q=...`)
# holds words of workers' texts, which must never reach a log. No client address either.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

# A query string right after a path; one fixed-width look-behind keeps the pattern linear.
_QUERY = re.compile(r"(?<=[\w/.~%-])\?[^\s'\"]*")


class _NoQueryStrings(logging.Filter):
    """Cuts query strings from what gunicorn's error log says ("Error handling request ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _QUERY.sub("", record.getMessage()), None
        return True


class PathOnlyLogger(Logger):
    """gunicorn's logger, whose error log never names a query string either."""

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_NoQueryStrings())


logger_class = PathOnlyLogger
