"""Rasa's SQL tracker store, reconnecting after a database restart (runs inside .venv-rasa).

Rasa 3.6's SQLTrackerStore keeps a pool of connections without checking them: after PostgreSQL
restarts, the first turn of each worker meets a dead connection, the save fails, and Rasa's fail-safe
wrapper keeps that turn in the worker's memory only — the next turn reads the database and has lost
it. SQLAlchemy's `pool_pre_ping` tests each connection as it is taken from the pool and replaces a
dead one, so the first turn after the restart is saved like any other. Selected in the generated
endpoints.yml: `tracker_store: type: nlu.trackers.ReconnectingSQLTrackerStore` with the keys of
Rasa's `type: SQL` store.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs


class ReconnectingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


