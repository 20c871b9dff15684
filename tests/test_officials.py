"""Officials' web sign-in: `trolyao officials invite --name …` prints a single-use, expiring link;
opening it makes that browser's web conversation an official's, recorded in the data directory's
sign-ins store, which the action server reads on every turn (so it sees internal documents from the
next message); a used, expired or forged link gets a Vietnamese page and signs nobody in;
`trolyao officials list` shows the configured ids and the sign-ins with names, `revoke` ends one.

The gateway runs for real over a fake Rasa that records whose conversation each message was in (an
edge: who the sender is is settled before Rasa is called); the action server's view is its own
`Officials` reading the same store. tests/test_chat_reports.py runs the same path over the real
dialogue.
"""
from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Iterator

import httpx
import pytest
from rasa_stand_in import FakeRasa
from asgi_server import serve
from click.testing import CliRunner

from actions.officials import Officials
from bot.app import create_app
from bot.cli import cli
from bot.invitations import Invitations
from bot.privacy import privacy_stores
from retrieval.officials import SignIns
from retrieval.settings import Settings

SECRET = "officials-test-secret-0123456789abcdefghij"
NAME = "Nguyễn Văn A"


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[str, Settings, FakeRasa]]:
    """A real gateway (its data directory in tmp_path) over the fake Rasa: (URL, settings, rasa)."""
    rasa = FakeRasa()
    with serve(rasa.app) as rasa_url:
        port_settings = Settings(rasa_url=rasa_url, secret_key=SECRET, data=tmp_path / "data",
                                 officials="tg:777")
        with serve(create_app(port_settings)) as url:
            yield url, Settings(**{**port_settings.model_dump(), "public_url": url}), rasa


def officials_cli(settings: Settings, *args: str):
    """`trolyao officials …` with the gateway's settings (its secret key, data directory, address)."""
    env = {"TROLYAO_SECRET_KEY": SECRET, "TROLYAO_DATA": str(settings.data_dir),
           "TROLYAO_PUBLIC_URL": settings.public_url, "TROLYAO_OFFICIALS": settings.officials}
    return CliRunner().invoke(cli, ["officials", *args], env=env, catch_exceptions=False)


def invite(settings: Settings, *args: str) -> str:
    result = officials_cli(settings, "invite", "--name", NAME, *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def sender_of(browser: httpx.Client, rasa: FakeRasa, url: str) -> str:
    """The sender id the gateway gives this browser's messages (what the action server is asked about)."""
    response = browser.post(f"{url}/api/chat", json={"message": "xin chào"})
    assert response.status_code == 200
    return rasa.senders[-1]


def action_server_view(settings: Settings) -> Officials:
    """What actions/server.py builds: TROLYAO_OFFICIALS plus the sign-ins store."""
    return Officials(settings.officials, SignIns(settings.officials_path))


def test_an_invitation_signs_the_browser_in_and_the_action_server_sees_an_official(site):
    url, settings, rasa = site
    link = invite(settings, "--expires", "2d")
    assert link.startswith(f"{url}/officials/join/")
    view = action_server_view(settings)      # built before the sign-in: it must not need a restart
    with httpx.Client() as browser, httpx.Client() as stranger:
        shown = browser.get(link)               # the link shows a page: opening it spends nothing
        assert shown.status_code == 200 and NAME in shown.text and "Xác nhận đăng nhập" in shown.text
        assert f'<form method="post" action="/officials/join/{link.rsplit("/", 1)[1]}">' in shown.text
        assert browser.get(f"{url}/api/me").json()["official"] is False
        opened = browser.post(link)             # the button
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        assert browser.get(f"{url}/api/me").json() == {"official": True, "name": NAME}
        official = sender_of(browser, rasa, url)
        assert official.startswith("web:") and view.audience(official) == "official"
        citizen = sender_of(stranger, rasa, url)
        assert view.audience(citizen) == "public"
        assert stranger.get(f"{url}/api/me").json() == {"official": False, "name": None}
        # The page's "new conversation" keeps the sign-in (a new id, the same official).
        assert browser.post(f"{url}/api/chat/new").status_code == 200
        renewed = sender_of(browser, rasa, url)
        assert renewed != official and view.audience(renewed) == "official" and view.audience(official) == "public"


def test_a_fresh_browser_gets_a_conversation_when_it_opens_the_link(site):
    url, settings, rasa = site
    with httpx.Client() as browser:
        link = invite(settings)
        assert browser.get(link).status_code == 200 and not browser.cookies   # the page starts nothing
        assert browser.post(link).status_code == 303
        assert browser.cookies                      # the conversation was issued with the sign-in
        assert action_server_view(settings).audience(sender_of(browser, rasa, url)) == "official"


def test_a_link_signs_in_one_browser_only(site):
    url, settings, rasa = site
    link = invite(settings)
    assert httpx.head(link).status_code == 200        # a link checker's probe does not spend it
    assert httpx.get(link).status_code == 200         # nor a chat app's preview fetching the page
    with httpx.Client() as first, httpx.Client() as second:
        assert first.post(link).status_code == 303
        again = second.post(link)
        assert again.status_code == 410 and "đã được dùng một lần" in again.text
        assert second.get(link).status_code == 410        # the page says so too
        assert "text/html" in again.headers["content-type"]
        assert second.get(f"{url}/api/me").json()["official"] is False
        view = action_server_view(settings)
        assert view.audience(sender_of(second, rasa, url)) == "public"
        assert view.audience(sender_of(first, rasa, url)) == "official"
    assert len(SignIns(settings.officials_path).all()) == 1


def test_an_expired_link_is_refused_with_a_vietnamese_page(site):
    url, settings, _ = site
    week_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8)
    _, link = Invitations(SECRET, url, clock=lambda: week_ago).issue(NAME, dt.timedelta(days=7))
    with httpx.Client() as browser:
        for page in (browser.get(link), browser.post(link)):
            assert page.status_code == 410 and "đã hết hạn" in page.text
        assert browser.get(f"{url}/api/me").json()["official"] is False
    assert SignIns(settings.officials_path).all() == []


@pytest.mark.parametrize("forge", ["altered", "other key", "garbage"])
def test_a_forged_link_is_refused(site, forge):
    url, settings, _ = site
    link = invite(settings)
    token = link.rsplit("/", 1)[1]
    forged = {"altered": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
              "other key": Invitations("another-secret-key-0123456789abcdefgh", url).issue(NAME)[1].rsplit("/", 1)[1],
              "garbage": "not-a-token"}[forge]
    with httpx.Client() as browser:
        for page in (browser.get(f"{url}/officials/join/{forged}"), browser.post(f"{url}/officials/join/{forged}")):
            assert page.status_code == 400 and "không hợp lệ" in page.text
    assert SignIns(settings.officials_path).all() == []


def test_list_shows_configured_ids_and_sign_ins_with_names_and_revoke_ends_one(site):
    url, settings, rasa = site
    with httpx.Client() as browser:
        browser.post(invite(settings))
        sender = sender_of(browser, rasa, url)
    listing = officials_cli(settings, "list")
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert lines[0] == "tg:777\tTROLYAO_OFFICIALS"
    assert lines[1].startswith(f"{sender}\t{NAME}\tsigned in ")
    view = action_server_view(settings)
    assert view.audience(sender) == "official"
    revoked = officials_cli(settings, "revoke", sender)
    assert revoked.exit_code == 0 and "signed out" in revoked.stdout
    assert view.audience(sender) == "public"              # the same reader: from the next message
    assert sender not in officials_cli(settings, "list").stdout
    unknown = officials_cli(settings, "revoke", sender)
    assert unknown.exit_code == 1 and "is not an official" in unknown.output
    configured = officials_cli(settings, "revoke", "tg:777")
    assert configured.exit_code == 1 and "TROLYAO_OFFICIALS" in configured.output
    assert officials_cli(settings, "revoke", "nobody").exit_code == 1


def test_invite_refuses_a_bad_duration_or_an_empty_name(site):
    _, settings, _ = site
    for args, message in ((["--name", NAME, "--expires", "soon"], "expected a duration"),
                          (["--name", NAME, "--expires", "90d"], "at most 30 days"),
                          (["--name", "  "], "--name is empty")):
        result = officials_cli(settings, "invite", *args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_the_store_is_owner_only_and_a_missing_or_broken_one_makes_nobody_an_official(tmp_path):
    store = SignIns(tmp_path / "officials.sqlite3")
    view = Officials(None, store)
    assert view.audience("web:x") == "public" and not store.path.exists()   # reading never creates it
    store.redeem("invite-1", "web:x", NAME)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert view.audience("web:x") == "official"
    store.path.write_bytes(b"not a database")
    assert view.audience("web:x") == "public"


def test_privacy_export_lists_the_sign_in_and_forget_keeps_it(site):
    url, settings, rasa = site
    with httpx.Client() as browser:
        browser.post(invite(settings))
        sender = sender_of(browser, rasa, url)
    stores = privacy_stores(settings)
    exported = stores.export(sender)["stores"]["officials"]
    assert [(r["sender"], r["name"]) for r in exported] == [(sender, NAME)]
    removed = {r.store: r.count for r in stores.forget(sender)}
    assert removed["officials"] == 0
    assert action_server_view(settings).audience(sender) == "official"
    assert any(activity.sender == sender for activity, _ in stores.senders())
