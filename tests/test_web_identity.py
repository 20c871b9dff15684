"""Web identity: the gateway, not the client, says who is talking on POST /api/chat.

A browser's conversation is a signed HttpOnly cookie the gateway issues (the body's `sender` is
ignored); integrations authenticate with the API key and name their users; every client address is
rate-limited and may open only so many conversations an hour (behind a proxy only when that proxy
is trusted); user ids reach logs and stores as an HMAC under the secret key; the secret key is
generated at set-up. Rasa here is a fake that records who it was asked for (an edge: the identity
is decided before Rasa is called); the web chat's tests run the same over the real dialogue.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import stat
from collections.abc import Iterator

import httpx
import pytest
from rasa_stand_in import FakeRasa
from asgi_server import serve
from starlette.requests import Request

from bot.app import create_app
from bot.gateway import APOLOGY, RATE_LIMITED, Gateway
from bot.pseudonyms import Pseudonyms
from bot.secret_key import ensure_in_env_file, main as secret_key_main, secret_key
from bot.state import GatewayState
from bot.web_identity import TOO_MANY_CONVERSATIONS, Refused, WebIdentity
from bot.web_security import COOKIE
from retrieval.errors import ConfigError
from retrieval.settings import Settings

SECRET = "test-secret-key-0123456789abcdefghijklmnop"
API_KEY = "integration-key-9f8e7d6c5b4a"


@pytest.fixture
def rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def gateway(rasa, tmp_path):
    """gateway(**settings) → the URL of a real gateway app over the fake Rasa (each with a data
    directory, so a store, of its own)."""
    fake, rasa_url = rasa
    servers = []

    def start(**overrides) -> str:
        defaults = dict(rasa_url=rasa_url, secret_key=SECRET, api_key=API_KEY, data=tmp_path / f"g{len(servers)}")
        settings = Settings(**{**defaults, **overrides})
        server = serve(create_app(settings))
        servers.append(server)
        return server.__enter__()

    yield start
    for server in reversed(servers):
        server.__exit__(None, None, None)


def ask(client: httpx.Client, url: str, message: str = "xin chào", **body) -> httpx.Response:
    return client.post(f"{url}/api/chat", json={"message": message, **body}, timeout=30)


# -- browsers: the conversation is the server's cookie ------------------------------------------

def test_a_browser_without_cookie_gets_a_new_conversation_in_a_signed_httponly_lax_cookie(gateway, rasa):
    fake, _ = rasa
    url = gateway()
    with httpx.Client() as browser:
        first = ask(browser, url, "Công văn 704/UBND-KGVX nói gì?", sender="victim")
        cookie = first.headers["set-cookie"]
        again = ask(browser, url, "Văn bản đó do ai ký?", sender="someone-else")
    assert first.status_code == 200 and first.json()["messages"][0]["text"] == "Đã nhận: Công văn 704/UBND-KGVX nói gì?"
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes and "samesite=lax" in cookie.lower()
    assert again.status_code == 200
    # One conversation, the server's: neither body `sender` reached Rasa.
    assert fake.senders[0] == fake.senders[1] and fake.senders[0].startswith("web:")
    assert fake.senders[0] not in ("web:victim", "web:someone-else")


def test_a_body_sender_cannot_join_another_browsers_conversation(gateway, rasa):
    fake, _ = rasa
    url = gateway()
    with httpx.Client() as alice, httpx.Client() as mallory:
        ask(alice, url, "Công văn 704/UBND-KGVX nói gì?")
        alice_id = fake.senders[-1]
        ask(mallory, url, "Văn bản đó do ai ký?", sender=alice_id.removeprefix("web:"))
        ask(mallory, url, "Văn bản đó do ai ký?", sender=alice_id)
    assert fake.senders[1] == fake.senders[2] != alice_id


@pytest.mark.parametrize("forge", ["tampered", "other key", "garbage"])
def test_a_cookie_that_is_not_ours_starts_a_new_conversation(gateway, rasa, forge):
    fake, _ = rasa
    url = gateway()
    with httpx.Client() as browser:
        ask(browser, url)
        genuine = browser.cookies[COOKIE]
    if forge == "tampered":       # the payload changed, the signature kept
        payload, rest = genuine.split(".", 1)
        forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    elif forge == "other key":    # validly signed, by another deployment's key
        other = gateway(secret_key="another-deployment-secret-key-000000000")
        with httpx.Client() as elsewhere:
            ask(elsewhere, other)
            forged = elsewhere.cookies[COOKIE]
        fake.senders.pop()
    else:
        forged = "not-a-cookie"
    with httpx.Client(cookies={COOKIE: forged}) as attacker:
        reply = ask(attacker, url)
    assert reply.status_code == 200 and COOKIE in reply.cookies   # a fresh cookie for a fresh conversation
    assert fake.senders[-1] != fake.senders[0]


def test_the_new_conversation_button_rotates_the_cookie(gateway, rasa):
    fake, _ = rasa
    url = gateway()
    with httpx.Client() as browser:
        ask(browser, url)
        before = browser.cookies[COOKIE]
        rotated = browser.post(f"{url}/api/chat/new", timeout=30)
        ask(browser, url)
        ask(browser, url)
    assert rotated.status_code == 200 and rotated.cookies[COOKIE] != before
    assert fake.senders[0] != fake.senders[1] == fake.senders[2]


# -- integrations: the API key, and then their own sender ---------------------------------------

def test_an_integration_with_the_api_key_names_its_users(gateway, rasa):
    fake, _ = rasa
    url = gateway()
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}) as portal:
        first = ask(portal, url, sender="citizen-17")
        second = ask(portal, url, sender="citizen-17")
        other = ask(portal, url, sender="citizen-18")
        nameless = ask(portal, url)
    assert [r.status_code for r in (first, second, other)] == [200, 200, 200]
    assert fake.senders == ["web:citizen-17", "web:citizen-17", "web:citizen-18"]
    assert COOKIE not in first.cookies                                   # no cookie for a program
    assert nameless.status_code == 400 and "sender" in nameless.json()["error"]


@pytest.mark.parametrize("authorization", [f"Bearer {API_KEY}x", "Bearer", f"Basic {API_KEY}", "Bearer ключ"])
def test_a_wrong_api_key_is_a_401_with_an_english_error(gateway, rasa, authorization):
    fake, _ = rasa
    url = gateway()
    with httpx.Client() as client:
        reply = client.post(f"{url}/api/chat", json={"sender": "citizen-17", "message": "xin chào"},
                            headers={"Authorization": authorization.encode()}, timeout=30)
    assert reply.status_code == 401 and reply.json()["error"].startswith("invalid API key")
    assert fake.senders == []


def test_without_a_configured_api_key_no_integration_gets_in(gateway, rasa):
    fake, _ = rasa
    url = gateway(api_key=None)
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        reply = ask(client, url, sender="citizen-17")
    assert reply.status_code == 401 and "TROLYAO_API_KEY is not set" in reply.json()["error"]
    assert fake.senders == []


# -- limits per address, and new conversations per hour -----------------------------------------

def test_an_address_is_limited_however_many_cookies_it_uses(gateway, rasa):
    fake, _ = rasa
    url = gateway(address_rate_limit="3/minute")
    replies = []
    for _ in range(4):
        with httpx.Client() as fresh_browser:       # a new cookie each time: still one address
            replies.append(ask(fresh_browser, url))
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    refused = replies[3].json()
    assert refused["messages"][0]["text"] == RATE_LIMITED and "too many requests" in refused["error"]
    assert len(fake.senders) == 3


def test_new_conversations_per_address_are_capped_while_open_ones_go_on(gateway, rasa):
    fake, _ = rasa
    url = gateway(new_conversations_per_hour=2)
    with httpx.Client() as first, httpx.Client() as second, httpx.Client() as third:
        assert ask(first, url).status_code == 200
        assert ask(second, url).status_code == 200
        refused = ask(third, url)
        rotated = first.post(f"{url}/api/chat/new", timeout=30)
        still = ask(first, url)
    assert refused.status_code == 429 and refused.json()["messages"][0]["text"] == TOO_MANY_CONVERSATIONS
    assert COOKIE not in refused.cookies
    assert rotated.status_code == 429
    assert still.status_code == 200 and fake.senders[-1] == fake.senders[0]   # the open one goes on


def test_forwarded_addresses_count_only_from_trusted_proxies(gateway, rasa):
    def refused_after_two(url: str, forwarded: list[str]) -> list[int]:
        codes = []
        for address in forwarded:
            with httpx.Client(headers={"X-Forwarded-For": address}) as browser:
                codes.append(ask(browser, url).status_code)
        return codes

    spoofed = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    # Nobody trusted: X-Forwarded-For is the client's word, so all three are one address.
    assert refused_after_two(gateway(address_rate_limit="2/minute"), spoofed) == [200, 200, 429]
    # A trusted proxy that is not the connecting one (a CIDR): still one address.
    assert refused_after_two(gateway(address_rate_limit="2/minute", trusted_proxies="10.0.0.0/8"),
                             spoofed) == [200, 200, 429]
    # The connecting proxy is trusted: each forwarded client has its own allowance.
    proxied = gateway(address_rate_limit="2/minute", trusted_proxies="192.0.2.9, 127.0.0.0/8")
    assert refused_after_two(proxied, spoofed) == [200, 200, 200]
    assert refused_after_two(proxied, ["203.0.113.1"]) == [200]
    assert refused_after_two(proxied, ["203.0.113.1"]) == [429]


def test_a_broken_gateway_store_refuses_with_the_apology_instead_of_guessing(tmp_path):
    state = GatewayState(tmp_path / "gateway.sqlite3")
    identity = WebIdentity(state, Pseudonyms(SECRET), None, "10/minute", 10)
    state.close()                                           # every read and write now fails
    request = Request({"type": "http", "method": "POST", "path": "/api/chat", "headers": [],
                       "client": ("198.51.100.7", 5000), "session": {}})
    with pytest.raises(Refused) as refused:
        identity.caller(request, None)
    assert refused.value.status == 503 and refused.value.text == APOLOGY and request.session == {}


@pytest.mark.parametrize("variable, value", [("TROLYAO_TRUSTED_PROXIES", "127.0.0.1,proxy.local"),
                                             ("TROLYAO_EMBED_ORIGINS", "self https://a.vn; script-src *"),
                                             ("TROLYAO_NEW_CONVERSATIONS_PER_HOUR", "nhiều"),
                                             ("TROLYAO_NEW_CONVERSATIONS_PER_HOUR", "0"),
                                             ("TROLYAO_ADDRESS_RATE_LIMIT", "nhiều/phút")])
def test_wrong_identity_settings_are_config_errors_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}="):
        Settings.load()


# -- pseudonyms in logs and stores --------------------------------------------------------------

def test_logs_and_the_rate_limit_store_hold_an_hmac_of_the_sender_never_the_id_or_a_plain_hash(
        rasa, tmp_path, caplog):
    _, rasa_url = rasa
    settings = Settings(rasa_url=rasa_url, rate_limit="1/minute")
    pseudonyms = Pseudonyms(SECRET)
    state = GatewayState(tmp_path / "gateway.sqlite3")

    async def run():
        gateway = Gateway(settings, state=state, pseudonyms=pseudonyms)
        answered = await gateway.handle("tg", "987654321", "xin chào", message_id="7")
        redelivered = await gateway.handle("tg", "987654321", "xin chào", message_id="7")
        limited = await gateway.handle("tg", "987654321", "còn gì nữa?", message_id="8")
        await gateway.aclose()
        return answered, redelivered, limited

    with caplog.at_level(logging.INFO, logger="trolyao"):
        answered, redelivered, limited = asyncio.run(run())
    assert answered and redelivered is None and limited[0].text == RATE_LIMITED
    sender = "tg:987654321"
    plain = hashlib.sha256(sender.encode()).hexdigest()
    stored = [key for (key,) in sqlite3.connect(tmp_path / "gateway.sqlite3").execute("SELECT key FROM hits")]
    assert pseudonyms.of(sender) in caplog.text and stored == [pseudonyms.of(sender)]
    for text in (caplog.text, " ".join(stored)):
        assert "987654321" not in text and plain[:12] not in text
    assert Pseudonyms("another key").of(sender) != pseudonyms.of(sender)


def test_the_web_api_logs_conversations_and_addresses_by_pseudonym(gateway, rasa, caplog):
    fake, _ = rasa
    url = gateway(address_rate_limit="1/minute")
    with caplog.at_level(logging.INFO, logger="trolyao"), httpx.Client() as browser:
        ask(browser, url)
        ask(browser, url)     # refused: the address's pseudonym is logged
    conversation = fake.senders[0]
    assert Pseudonyms(SECRET).of(conversation) in caplog.text
    assert conversation.removeprefix("web:") not in caplog.text and "127.0.0.1" not in caplog.text
    assert f"address:{Pseudonyms(SECRET).of('127.0.0.1')}" in caplog.text


# -- the secret key -----------------------------------------------------------------------------

def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_set_up_generates_a_secret_key_once_and_keeps_the_env_file_private(tmp_path):
    env = tmp_path / ".env"
    assert ensure_in_env_file(env)
    first = env.read_text()
    assert first.startswith("TROLYAO_SECRET_KEY=") and len(first.strip().split("=", 1)[1]) >= 40
    assert mode(env) == 0o600
    assert not ensure_in_env_file(env) and env.read_text() == first    # never replaced


def test_set_up_adds_the_key_beside_other_settings_and_fills_an_empty_one(tmp_path):
    env = tmp_path / ".env"
    env.write_text("TROLYAO_PORT=9000\nTROLYAO_SECRET_KEY=\nTELEGRAM_BOT_TOKEN=abc\n")
    env.chmod(0o644)
    assert ensure_in_env_file(env)
    lines = env.read_text().splitlines()
    assert lines[0] == "TROLYAO_PORT=9000" and lines[2] == "TELEGRAM_BOT_TOKEN=abc"
    assert lines[1].startswith("TROLYAO_SECRET_KEY=") and len(lines[1]) > 40 and mode(env) == 0o600
    kept = tmp_path / "kept.env"
    kept.write_text("TROLYAO_SECRET_KEY=mine\n")
    assert not ensure_in_env_file(kept) and kept.read_text() == "TROLYAO_SECRET_KEY=mine\n"


def test_the_set_up_step_writes_the_env_file_it_is_given_and_settings_read_it(tmp_path, monkeypatch):
    env = tmp_path / "deploy.env"
    assert secret_key_main([str(env)]) == 0
    monkeypatch.setenv("TROLYAO_ENV_FILE", str(env))
    settings = Settings.load()
    assert settings.secret_key is not None and secret_key(settings) == env.read_text().strip().split("=", 1)[1]
    assert SECRET not in repr(Settings(secret_key=SECRET))                   # never printed by accident


def test_the_set_up_step_follows_trolyao_env_file(tmp_path, monkeypatch):
    named = tmp_path / "named.env"
    monkeypatch.setenv("TROLYAO_ENV_FILE", str(named))
    assert secret_key_main([]) == 0 and named.read_text().startswith("TROLYAO_SECRET_KEY=")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TROLYAO_ENV_FILE", "")          # told to read no env file: none is written
    assert secret_key_main([]) == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["named.env"]


def test_without_a_configured_key_the_data_directory_keeps_one(tmp_path):
    settings = Settings(data=tmp_path / "data")
    key = secret_key(settings)
    assert len(key) >= 40 and secret_key(settings) == key                     # a restart reads the same
    assert mode(tmp_path / "data" / "secret_key") == 0o600
    assert secret_key(Settings(data=tmp_path / "data", secret_key=SECRET)) == SECRET   # configured wins
