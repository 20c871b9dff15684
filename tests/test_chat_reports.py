"""Reports in chat, for officials only: "lập báo cáo nhiệm vụ của Sở Y tế (tháng này)" makes the Word
report of `trolyao report` from the official's own view of the task registry (internal documents
included); Telegram sends the .docx itself (sendDocument), the web chat gets a download link that
only that browser's conversation opens and that expires, Zalo gets the link as text. A citizen is
declined politely, and nothing tells them an internal document exists.

In-process first (the real actions over the fast test index with the internal notice, no Rasa, no
model), then the gateway's delivery over a fake Rasa or a stub gateway (edges), then end to end
through the real gateway, Rasa and action server.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgi_server import serve
from docx import Document
from fakes import HashingEmbedder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from test_access_levels import INTERNAL_NUMBER, mixed_index  # noqa: F401 - the fixture
from test_report import grouped_rows
from test_webchat_browser import browser, open_chat  # noqa: F401 - the fixtures

from actions.report_actions import OFFICIALS_ONLY, WHICH_AGENCY
from bot.app import create_app
from bot.downloads import FILE_NAME, ReportFile, ReportFiles
from bot.privacy import Retention
from bot.rasa_client import BotMessage
from retrieval.officials import SignIns
from retrieval.privacy import PrivacyStores
from retrieval.service import Retrieval
from retrieval.settings import Settings

TODAY = "2024-06-20"
SECRET = "chat-reports-secret-0123456789abcdefghijk"
ASK = "lập báo cáo nhiệm vụ của Sở Y tế"


def custom_document(reply) -> dict | None:
    found = [part.get("data", {}).get("custom") for part in reply]
    return next((c["document"] for c in found if isinstance(c, dict) and "document" in c), None)


@pytest.fixture
def reports_dir(tmp_path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def chat_as(mixed_index, reports_dir, tmp_path):   # noqa: F811 - mixed_index is the imported fixture
    """(sender) → a conversation with every custom action; tg:1 is an official (TROLYAO_OFFICIALS)."""
    from action_turns import ActionConversation
    from actions.assistant import Assistant, pinned_or_real_today
    from actions.officials import Officials
    from actions.server import actions_for
    from retrieval.feedback import FeedbackStore

    retrieval = Retrieval(mixed_index, embedder=HashingEmbedder())
    assistant = Assistant(lambda: retrieval, FeedbackStore(tmp_path / "feedback.sqlite3"),
                          pinned_or_real_today(TODAY), Officials("tg:1"), reports_dir)
    actions = {action.name(): action for action in actions_for(assistant)}
    return lambda sender: ActionConversation(actions, sender=sender)


def report_turn(conversation, text: str):
    reply = conversation.say(text, "task_report", "action_task_report")
    return reply, custom_document(conversation.events[-2:])


# -- the action, in-process ----------------------------------------------------------------------------

def test_an_official_gets_every_task_of_the_agency_with_its_source_internal_ones_included(chat_as, reports_dir,
                                                                                          mixed_index):  # noqa: F811
    reply, document = report_turn(chat_as("tg:1"), ASK)
    assert document["title"] == "Báo cáo nhiệm vụ của Sở Y tế.docx" and FILE_NAME.fullmatch(document["file"])
    assert "Tôi đã lập báo cáo nhiệm vụ của Sở Y tế" in reply.text
    path = reports_dir / document["file"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    groups = grouped_rows(Document(str(path)))
    expected = Retrieval(mixed_index, embedder=HashingEmbedder()).view("official").tasks.tasks_of("Sở Y tế", today=TODAY)
    assert sum(len(rows) for rows in groups.values()) == len(expected) and expected
    internal = next(heading for heading in groups if INTERNAL_NUMBER in heading)
    assert internal == f"[Nội bộ] Thông báo số {INTERNAL_NUMBER} ngày 10/6/2024 của UBND tỉnh Lạng Sơn"
    [row] = [r for r in groups[internal] if "vắc xin dại" in r["action"]]
    assert row["role"] == "Chủ trì" and row["status"] == "Đang thực hiện" and "28/6/2024" in row["deadline"]
    assert f"{len(expected)} nhiệm vụ" in reply.text
    assert "[Nội bộ] Báo cáo có 1 nhiệm vụ từ văn bản nội bộ" in reply.text     # marked, as internal answers are


JUNE = "từ ngày 1/6/2024 đến ngày 30/6/2024"
NOTICE = f"[Nội bộ] Thông báo số {INTERNAL_NUMBER} ngày 10/6/2024 của UBND tỉnh Lạng Sơn"   # marked as in chat
PLAN = "Kế hoạch số 117/KH-UBND ngày 29/5/2024 của UBND tỉnh"


@pytest.mark.parametrize("text, period, documents", [
    ("lập báo cáo nhiệm vụ của Sở Y tế (tháng này)", JUNE, [NOTICE]),
    ("lap bao cao nhiem vu cua so y te thang nay", JUNE, [NOTICE]),
    ("báo cáo nhiệm vụ Sở Y tế tháng 6/2024", JUNE, [NOTICE]),
    ("lập báo cáo nhiệm vụ của Sở Y tế quý này", "từ ngày 1/4/2024 đến ngày 30/6/2024", [PLAN, NOTICE]),
    ("lập báo cáo nhiệm vụ của Sở Y tế tháng trước", "từ ngày 1/5/2024 đến ngày 31/5/2024", [PLAN])])
def test_a_period_keeps_the_documents_issued_in_it(chat_as, reports_dir, text, period, documents):
    reply, document = report_turn(chat_as("tg:1"), text)
    assert period in reply.text
    assert list(grouped_rows(Document(str(reports_dir / document["file"])))) == documents
    assert ("[Nội bộ]" in reply.text) == (NOTICE in documents)


@pytest.mark.parametrize("words, today, span", [
    ("quý này", "2024-05-29", ("2024-04-01", "2024-06-30")),
    ("quy nay", "2024-12-31", ("2024-10-01", "2024-12-31")),
    ("quý trước", "2024-02-10", ("2023-10-01", "2023-12-31")),
    ("quý vừa qua", "2024-08-01", ("2024-04-01", "2024-06-30")),
    ("tuần này", "2024-05-29", ("2024-05-27", "2024-06-02")),
    ("tháng 6/2024", "2025-01-01", ("2024-06-01", "2024-06-30"))])
def test_the_period_words_a_report_request_understands(words, today, span):
    from actions.dates import date_range

    assert date_range(words, today) == span


def test_a_citizen_is_declined_politely_and_told_nothing_of_internal_documents(chat_as, reports_dir):
    for sender in ("tg:2", "web:someone", "zalo:1"):
        conversation = chat_as(sender)
        reply, document = report_turn(conversation, ASK)
        assert reply.text == OFFICIALS_ONLY and document is None
        assert INTERNAL_NUMBER not in reply.text and "Nội bộ" not in reply.text and "nội bộ" not in reply.text
        # The same question in other words is an agency's task list: public tasks only.
        tasks = conversation.say("Sở Y tế được giao những việc gì?", "agency_tasks", "action_agency_tasks")
        assert INTERNAL_NUMBER not in tasks.text and "vắc xin dại" not in tasks.text
    assert not reports_dir.exists() or not list(reports_dir.iterdir())


def test_without_an_agency_the_official_is_asked_which_and_a_misspelt_one_gets_suggestions(chat_as, reports_dir):
    conversation = chat_as("tg:1")
    reply, document = report_turn(conversation, "lập báo cáo nhiệm vụ")
    assert reply.text == WHICH_AGENCY and document is None
    reply, document = report_turn(conversation, "lập báo cáo nhiệm vụ của Sở Y tết")
    assert document is None and "Sở Y tế" in reply.text
    # After a question about an agency, "lập báo cáo nhiệm vụ" reports on it.
    conversation.say("Sở Y tế được giao những việc gì?", "agency_tasks", "action_agency_tasks")
    reply, document = report_turn(conversation, "lập báo cáo nhiệm vụ")
    assert document is not None and document["title"] == "Báo cáo nhiệm vụ của Sở Y tế.docx"


def test_a_signed_in_web_official_gets_the_report_and_a_revoked_one_does_not(mixed_index, tmp_path):  # noqa: F811
    from action_turns import ActionConversation
    from actions.assistant import Assistant, pinned_or_real_today
    from actions.officials import Officials
    from actions.server import actions_for

    signins = SignIns(tmp_path / "officials.sqlite3")
    retrieval = Retrieval(mixed_index, embedder=HashingEmbedder())
    assistant = Assistant(lambda: retrieval, None, pinned_or_real_today(TODAY), Officials(None, signins),
                          tmp_path / "reports")
    actions = {action.name(): action for action in actions_for(assistant)}
    signins.redeem("invite-1", "web:abc", "Nguyễn Văn A")
    _, document = report_turn(ActionConversation(actions, sender="web:abc"), ASK)
    assert document is not None
    signins.revoke("web:abc")
    reply, document = report_turn(ActionConversation(actions, sender="web:abc"), ASK)
    assert document is None and reply.text == OFFICIALS_ONLY


# -- delivery by the gateway (edges: a fake Rasa, a stub gateway) -------------------------------------------

def docx_bytes(text: str) -> bytes:
    document = Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def put_report(folder: Path, text: str = "Báo cáo thử") -> ReportFile:
    folder.mkdir(parents=True, exist_ok=True)
    report = ReportFile(os.urandom(16).hex() + ".docx", "Báo cáo nhiệm vụ của Sở Y tế.docx")
    (folder / report.file).write_bytes(docx_bytes(text))
    return report


class ReportingRasa:
    """Rasa's REST webhook answering as the dialogue does for an official's report request: a text
    and the custom payload naming the file (``document``, set by the test)."""

    def __init__(self):
        self.document: dict | None = None

        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            return JSONResponse([{"recipient_id": body["sender"], "text": "Tôi đã lập báo cáo."},
                                 {"recipient_id": body["sender"], "custom": {"document": self.document}}])

        self.app = Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])


@pytest.fixture
def web(tmp_path) -> Iterator[tuple[str, Settings, ReportingRasa]]:
    rasa = ReportingRasa()
    with serve(rasa.app) as rasa_url:
        settings = Settings(rasa_url=rasa_url, secret_key=SECRET, data=tmp_path / "data")
        with serve(create_app(settings)) as url:
            yield url, settings, rasa


def test_the_web_chat_gets_a_link_that_only_its_own_conversation_opens(web):
    url, settings, rasa = web
    report = put_report(settings.reports_dir, "Nội dung báo cáo")
    rasa.document = {"file": report.file, "title": report.title}
    with httpx.Client() as browser, httpx.Client() as other:
        [message] = browser.post(f"{url}/api/chat", json={"message": ASK}).json()["messages"]
        assert message["text"] == "Tôi đã lập báo cáo."
        assert set(message["document"]) == {"title", "url"} and message["document"]["title"] == report.title
        link = message["document"]["url"]
        assert link.startswith("/files/") and report.file not in link.split(".")[0]
        download = browser.get(url + link)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        assert "attachment" in download.headers["content-disposition"]
        assert Document(io.BytesIO(download.content)).paragraphs[0].text == "Nội dung báo cáo"
        other.post(f"{url}/api/chat", json={"message": "xin chào"})     # a conversation of its own
        for client in (other, httpx.Client()):
            refused = client.get(url + link)
            assert refused.status_code == 403 and "trình duyệt đã yêu cầu" in refused.text
        forged = browser.get(url + link[:-4] + "AAAA")
        assert forged.status_code == 400 and "không hợp lệ" in forged.text


def test_an_expired_link_is_refused_and_the_sweep_deletes_the_file(web):
    url, settings, rasa = web
    report = put_report(settings.reports_dir)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=settings.report_link_minutes + 1)
    old = ReportFiles(SECRET, settings.reports_dir, dt.timedelta(minutes=settings.report_link_minutes),
                      clock=lambda: past)
    expired = httpx.get(url + old.link(report, owner=None))
    assert expired.status_code == 410 and "hết hạn" in expired.text
    fresh = put_report(settings.reports_dir)
    hour_ago = time.time() - 60 * (settings.report_link_minutes + 1)
    os.utime(settings.reports_dir / report.file, (hour_ago, hour_ago))
    retention = Retention(PrivacyStores([]), settings.retention_days,
                          sweeps=[ReportFiles(SECRET, settings.reports_dir,
                                              dt.timedelta(minutes=settings.report_link_minutes)).sweep])
    asyncio.run(retention.purge_once())
    assert not (settings.reports_dir / report.file).exists() and (settings.reports_dir / fresh.file).exists()
    gone = httpx.get(url + ReportFiles(SECRET, settings.reports_dir, dt.timedelta(minutes=5)).link(report, None))
    assert gone.status_code == 410 and "không còn" in gone.text


def test_a_document_that_is_not_a_report_file_is_never_offered(web):
    url, settings, rasa = web
    for document in ({"file": "../gateway.sqlite3", "title": "x.docx"}, {"file": "a" * 32 + ".docx"},
                     {"file": "/etc/passwd", "title": "passwd"}):
        rasa.document = document
        [message] = httpx.post(f"{url}/api/chat", json={"message": ASK}).json()["messages"]
        assert "document" not in message and message["text"] == "Tôi đã lập báo cáo."


def test_telegram_uploads_the_file_with_send_document_then_deletes_it(tmp_path):
    from fake_telegram import FakeTelegram, Upload, message_update
    from stub_gateway import StubGateway, channel_app

    from bot.channels.telegram import TelegramChannel

    files = ReportFiles(SECRET, tmp_path / "reports", dt.timedelta(minutes=60))
    report = put_report(files.folder, "Báo cáo gửi qua Telegram")
    stub = StubGateway(reply=lambda text: [BotMessage("Tôi đã lập báo cáo.", document={"file": report.file,
                                                                                       "title": report.title})],
                       reports=files)
    fake = FakeTelegram()
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        settings = Settings(telegram_bot_token="123:ABC", telegram_api_base=fake_url)
        with serve(channel_app(TelegramChannel(settings, stub))):
            fake.push(message_update(1, 4242, ASK))
            [sent] = fake.wait_for(lambda f: f.recorded("sendDocument", 4242), what="the report's upload")
    [text] = fake.sent(4242)
    assert text.params["text"] == "Tôi đã lập báo cáo."
    assert fake.calls.index(text) < fake.calls.index(sent)
    upload = sent.params["document"]
    assert isinstance(upload, Upload) and upload.filename == report.title
    assert Document(io.BytesIO(upload.content)).paragraphs[0].text == "Báo cáo gửi qua Telegram"
    assert not files.path(report).exists()


def test_zalo_sends_the_link_as_text(tmp_path):
    from test_zalo import new_user, over, served_zalo
    from stub_gateway import StubGateway

    files = ReportFiles(SECRET, tmp_path / "reports", dt.timedelta(minutes=60))
    report = put_report(files.folder)
    stub = StubGateway(reply=lambda text: [BotMessage("Tôi đã lập báo cáo.", document={"file": report.file,
                                                                                       "title": report.title})],
                       reports=files)
    base = Settings(public_url="https://trolyao.example.vn")
    with served_zalo(over(stub), base) as zalo:
        text = zalo.ask(new_user(), ASK)
    first, second = text.split("\n")
    assert first == "Tôi đã lập báo cáo."
    prefix = f"Tải tệp “{report.title}” tại: https://trolyao.example.vn/files/"
    assert second.startswith(prefix) and second.endswith("(liên kết dùng được trong 60 phút).")
    token = second[len(prefix):].split(" ")[0]
    opened, path = files.open(token, caller=None)          # a bearer link: Zalo's browser has no cookie of ours
    assert opened == report and path.read_bytes() == files.path(report).read_bytes()


# -- end to end: the real gateway, Rasa and action server ----------------------------------------------------

@pytest.fixture
def stack_site(dialogue) -> Iterator[tuple[str, Settings]]:
    """The gateway over the real dialogue, sharing its data directory (sign-ins, reports)."""
    settings = Settings(rasa_url=dialogue.rasa_url, action_server_url=dialogue.actions_url, secret_key=SECRET,
                        data=dialogue.feedback_path.parent / "trolyao")
    with serve(create_app(settings)) as url:
        yield url, Settings(**{**settings.model_dump(), "public_url": url})


def test_a_signed_in_web_official_downloads_the_report_and_a_citizen_is_declined(stack_site):
    from bot.invitations import Invitations

    url, settings = stack_site
    with httpx.Client(timeout=60) as official, httpx.Client(timeout=60) as citizen:
        assert official.post(Invitations(SECRET, url).issue("Nguyễn Văn A")[1]).status_code == 303   # the button
        messages = official.post(f"{url}/api/chat", json={"message": "lap bao cao nhiem vu cua so y te"}).json()["messages"]
        [delivered] = [m for m in messages if "document" in m]
        assert delivered["text"].startswith("Tôi đã lập báo cáo nhiệm vụ của Sở Y tế")
        download = official.get(url + delivered["document"]["url"])
        assert download.status_code == 200
        groups = grouped_rows(Document(io.BytesIO(download.content)))
        rows_704 = groups["Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh"]
        assert len(rows_704) == 4 and any("sốt xuất huyết" in r["action"] for r in rows_704)
        assert citizen.get(url + delivered["document"]["url"]).status_code == 403
        declined = citizen.post(f"{url}/api/chat", json={"message": ASK + " tháng này"}).json()["messages"]
        assert [m["text"] for m in declined] == [OFFICIALS_ONLY] and not any("document" in m for m in declined)


def test_telegram_official_receives_the_docx_and_a_citizen_is_declined(stack_site):
    from fake_telegram import FakeTelegram, message_update

    _, settings = stack_site
    SignIns(settings.officials_path).redeem("tg-invite", "tg:5151", "Trần Thị B")   # any channel's id signs in alike
    fake = FakeTelegram()
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        telegram = settings.model_copy(update=dict(telegram_bot_token="123:ABC", telegram_api_base=fake_url))
        with serve(create_app(telegram)):
            fake.push(message_update(1, 5151, "Lập báo cáo nhiệm vụ của Sở Y tế"),
                      message_update(2, 5252, "Lập báo cáo nhiệm vụ của Sở Y tế"))
            [sent] = fake.wait_for(lambda f: f.recorded("sendDocument", 5151), what="the official's report")
            [declined] = fake.wait_sent(5252)
    assert sent.params["document"].filename == "Báo cáo nhiệm vụ của Sở Y tế.docx"
    groups = grouped_rows(Document(io.BytesIO(sent.params["document"].content)))
    assert "Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh" in groups
    assert declined.params["text"] == OFFICIALS_ONLY and not fake.recorded("sendDocument", 5252)


def test_in_the_browser_an_official_is_greeted_by_name_and_downloads_the_report(stack_site, open_chat, tmp_path):
    from playwright.sync_api import expect
    from test_webchat_browser import PHONE, ask, csp_violations

    from bot.invitations import Invitations

    url, settings = stack_site
    name = "Nguyễn Văn A <img src=x onerror=window.injected=1>"      # shown as text, never as markup
    page = open_chat(url, PHONE)
    page.goto(Invitations(SECRET, url).issue(name)[1])           # the invitation's page: a button to confirm
    page.get_by_role("button", name="Xác nhận đăng nhập").click()
    page.wait_for_url(f"{url}/")
    expect(page.locator(".row.bot.welcome")).to_be_visible()
    expect(page.locator(".bubble.official")).to_contain_text(f"Xin chào {name}!")
    answer = ask(page, "lập báo cáo nhiệm vụ của Sở Y tế")
    link = answer.locator("a.document-link")
    expect(link).to_have_text("Báo cáo nhiệm vụ của Sở Y tế.docx")
    assert link.get_attribute("href").startswith("/files/")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.docx"
    download.value.save_as(saved)
    assert "Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh" in grouped_rows(Document(str(saved)))
    assert csp_violations(page) == [] and page.evaluate("window.injected") is None and page.errors == []
