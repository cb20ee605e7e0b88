"""What receiving an SMS needs besides the session: configuration, keys, and the analysis."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from intake.config import Config
from intake.db import make_engine
from intake.models import Factory
from intake.pipeline.analyze import Analyzer, shared_analyzer
from intake.pipeline.identity import Keyring
from intake.pipeline.types import FactoryRef


class Hotline:
    """One per app: built at start-up, shared by every request and thread."""

    def __init__(self, config: Config, analyzer: Analyzer | None = None) -> None:
        self.config = config
        self.keyring = Keyring(config)
        self._analyzer = analyzer or shared_analyzer(
            config.languages, config.factory_code_pattern, config.model_path or None
        )
        self._factories_seen: tuple[int, datetime | None] | None = None
        self._lock = threading.Lock()

    def analyzer(self, session: Session) -> Analyzer:
        """The analyzer, knowing the Factory table as it is now (one cheap query to check)."""
        seen = session.execute(select(func.count(Factory.id), func.max(Factory.updated_at))).one()
        fingerprint = (seen[0], seen[1])
        if fingerprint != self._factories_seen:
            factories = load_factories(session)
            with self._lock:
                self._analyzer = self._analyzer.with_factories(factories)
                self._factories_seen = fingerprint
        return self._analyzer


def load_factories(session: Session) -> list[FactoryRef]:
    """Every factory's code and names, as the analysis needs them."""
    return [FactoryRef(factory.code, factory.names) for factory in session.scalars(select(Factory))]


def factories_at(url: str) -> list[FactoryRef]:
    """The factories in the database at `url`, or none where there is no database (yet)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []  # connecting would create an empty file
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return load_factories(session)
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
