"""The scale-out URLs parsed into the parts Rasa's endpoints take, and the endpoints file itself."""
from __future__ import annotations

import pytest

from bot.addresses import PostgresAddress, RedisAddress, SharedStores
from bot.processes import endpoints_yaml
from retrieval.errors import ConfigError
from retrieval.settings import Settings


def test_the_default_urls_name_local_servers_of_our_own():
    settings = Settings()
    assert RedisAddress.parse(settings.redis_url) == RedisAddress("127.0.0.1", 6380, 1)
    assert PostgresAddress.parse(settings.database_url) == PostgresAddress("127.0.0.1", 5433, "trolyao", "trolyao")
    assert RedisAddress.parse(settings.redis_url).local


def test_credentials_and_defaults_come_from_the_url():
    assert RedisAddress.parse("redis://:s%40cret@cache.internal") == RedisAddress("cache.internal", 6379, 0, "s@cret")
    assert PostgresAddress.parse("postgresql://rasa:pw@db.internal/") == PostgresAddress("db.internal", 5432, "rasa",
                                                                                         "rasa", "pw")
    assert not RedisAddress.parse("redis://cache.internal").local


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis://127.0.0.1:6379/zero", "redis:///1"])
def test_a_malformed_redis_url_names_the_variable(url):
    with pytest.raises(ConfigError, match="TROLYAO_REDIS_URL"):
        RedisAddress.parse(url)


def test_a_database_url_needs_a_user():
    with pytest.raises(ConfigError, match="TROLYAO_DATABASE_URL"):
        PostgresAddress.parse("postgresql://127.0.0.1:5433/trolyao")


def test_the_endpoints_give_rasa_the_shared_stores_key_by_key():
    shared = SharedStores(RedisAddress("127.0.0.1", 6380, 1, "pw"), PostgresAddress("127.0.0.1", 5433, "u", "d"))
    assert endpoints_yaml(5055, shared=shared) == (
        'action_endpoint:\n  url: "http://127.0.0.1:5055/webhook"\n'
        'lock_store:\n  type: "nlu.locks.AtomicRedisLockStore"\n  url: "127.0.0.1"\n  port: 6380\n  db: 1\n'
        '  password: "pw"\n'
        'tracker_store:\n  type: "nlu.trackers.ReconnectingSQLTrackerStore"\n  dialect: "postgresql"\n  url: "127.0.0.1"\n  port: 5433\n  db: "d"\n'
        '  username: "u"\n')
