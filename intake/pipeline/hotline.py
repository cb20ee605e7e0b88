"""What receiving an SMS needs besides the session: configuration, keys, and the analysis."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.config import Config
from intake.db import read_existing
from intake.models import Factory
from intake.pipeline.analyze import Analyzer, shared_analyzer
from intake.pipeline.identity import Keyring
from intake.pipeline.route import Routes
from intake.pipeline.types import FactoryRef

if TYPE_CHECKING:
    from intake.pipeline.escalate import Escalator

log = logging.getLogger(__name__)

# A new or renamed factory is recognised in messages within this many seconds.
FACTORY_RECHECK = 5.0


class Hotline:
    """One per app: built at start-up, shared by every request and thread."""

    def __init__(
        self,
        config: Config,
        analyzer: Analyzer | None = None,
        escalator: Escalator | None = None,
    ) -> None:
        self.config = config
        self.keyring = Keyring(config)
        self.routes = Routes()
        # Mails urgent alerts after commit; without one they wait for `intake worker`.
        self.escalator = escalator
        self._analyzer = analyzer or shared_analyzer(
            config.languages, config.factory_code_pattern, config.model_path or None
        )
        self._factories_seen: tuple[int, datetime | None] | None = None
        self._factories_checked = -FACTORY_RECHECK
        self._lock = threading.Lock()

    def analyzer(self, session: Session) -> Analyzer:
        """The analyzer, knowing the Factory table as of at most FACTORY_RECHECK seconds ago."""
        now = time.monotonic()
        if now - self._factories_checked < FACTORY_RECHECK:
            return self._analyzer
        self._factories_checked = now
        seen = session.execute(select(func.count(Factory.id), func.max(Factory.updated_at))).one()
        fingerprint = (seen[0], seen[1])
        if fingerprint != self._factories_seen:
            try:
                analyzer = self._analyzer.with_factories(load_factories(session))
            except (TypeError, ValueError, re.error) as error:
                # Bad reference data must not stop the hotline: keep the factories we had.
                log.error("factory list not reloaded: %s", type(error).__name__)
                return self._analyzer
            with self._lock:
                self._analyzer = analyzer
                self._factories_seen = fingerprint
        return self._analyzer



def load_factories(session: Session) -> list[FactoryRef]:
    """Every factory's code and names, as the analysis needs them."""
    return [FactoryRef(factory.code, factory.names) for factory in session.scalars(select(Factory))]


def factories_at(url: str) -> list[FactoryRef]:
    """The factories in the database at `url`, or none where there is no database (yet)."""
    return read_existing(url, load_factories, [])
