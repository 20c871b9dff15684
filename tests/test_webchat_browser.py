"""The web chat in a real headless Chromium (Debian's `chromium`, driven by Playwright; no browser
download) against the real gateway + Rasa + action server. Screenshots at phone and desktop width
are written to test-artifacts/ at the repository root. The page's security headers hold: its
Content-Security-Policy is enforced without ever being violated by the chat itself, it can be framed
only by TROLYAO_EMBED_ORIGINS, and a document carrying HTML and script shows as text, never runs."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
from pathlib import Path

import httpx
import pytest
from asgi_server import serve
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.app import create_app
from bot.processes import free_port
from bot.web_identity import TOO_MANY_CONVERSATIONS
from bot.web_security import COOKIE
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("TROLYAO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ANSWER_TIMEOUT_MS = 60_000     # a first answer may wait for the model to load in the action server


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/test-deps.sh (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_chat(browser):
    """open_chat(url, viewport) → a fresh page (own storage, so its own sender id) on the web chat."""
    from playwright.sync_api import expect

    contexts = []

    def open_(url: str, viewport: dict):
        context = browser.new_context(viewport=viewport, locale="vi-VN", device_scale_factor=1)
        context.set_default_timeout(ANSWER_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        page.add_init_script(CSP_WATCH)
        page.goto(url)
        expect(page.locator(".row.bot.welcome")).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()


# Every Content-Security-Policy violation the page meets (an init script runs outside the policy).
CSP_WATCH = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));"""


def csp_violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def bot_rows(page):
    return page.locator("#messages .row.bot")


def ask(page, question: str):
    """Type a question, send it with Enter, return the locator of the answer that follows it."""
    from playwright.sync_api import expect

    before = bot_rows(page).count()
    page.locator("#input").fill(question)
    page.locator("#input").press("Enter")
    expect(page.locator("#messages .row.user").last).to_contain_text(question)
    expect(bot_rows(page)).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
    return bot_rows(page).nth(before)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def screenshot(page, name: str, viewport: dict) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path))
    assert path.stat().st_size > 15_000, f"{path} looks empty ({path.stat().st_size} bytes)"
    assert png_size(path) == (viewport["width"], viewport["height"])
    return path


def assert_no_horizontal_scroll(page):
    scroll_width, inner_width = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"page scrolls sideways: {scroll_width} > {inner_width}"
    inner, shown = page.locator("#messages").evaluate("(m) => [m.scrollWidth, m.clientWidth]")
    assert inner <= shown, f"the messages overflow sideways: {inner} > {shown}"


def test_a_conversation_at_phone_width_with_citations_quick_replies_and_feedback(gateway_settings, open_chat):
    from playwright.sync_api import expect

    with serve(create_app(gateway_settings)) as url:
        page = open_chat(url, PHONE)
        expect(page.locator("h1")).to_have_text("Trợ lý ảo UBND tỉnh Lạng Sơn")
        expect(page.locator(".chip")).to_have_count(3)
        assert_no_horizontal_scroll(page)
        screenshot(page, "webchat-phone-welcome.png", PHONE)

        # Keyboard only: Tab reaches the input (with a visible focus style), Enter sends.
        page.locator("body").focus()
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "input":
                break
        assert page.evaluate("document.activeElement.id") == "input", "Tab never reached the input"
        assert page.evaluate("getComputedStyle(document.activeElement).boxShadow") != "none"

        # The typing indicator shows while the request is held back, and goes once it is answered.
        held = []
        page.route("**/api/chat", lambda route: held.append(route))
        page.keyboard.type("Công văn 704/UBND-KGVX nói gì?")
        with page.expect_request("**/api/chat"):
            page.keyboard.press("Enter")
        expect(page.locator("#typing")).to_be_visible()
        expect(page.locator("#messages .row.user").last).to_contain_text("Công văn 704/UBND-KGVX nói gì?")
        assert len(held) == 1, "the question was not sent"
        held[0].continue_()
        page.unroute("**/api/chat")
        answer = bot_rows(page).nth(1)
        expect(answer).to_contain_text("sốt xuất huyết")
        expect(page.locator("#typing")).to_be_hidden()
        assert "Nguồn:" not in answer.locator(".bubble").inner_text()   # shown as cards instead
        card = answer.locator(".citation").first
        expect(card.locator(".citation-doc")).to_have_text("Công văn 704/UBND-KGVX")
        expect(card.locator(".citation-date")).to_have_text("Ngày 23/06/2022")
        expect(card.locator(".citation-issuer")).to_have_text("UBND tỉnh")
        expect(card.locator(".citation-quote")).to_contain_text("sốt xuất huyết")
        expect(answer.get_by_role("button", name="Câu trả lời chưa đúng")).to_be_enabled()
        assert page.evaluate("document.activeElement.id") == "input"   # ready for the next question

        # A follow-up that needs a choice: quick replies; the 2nd one answers with its deadline.
        plan = ask(page, "Kế hoạch 146/KH-UBND về việc gì?")
        expect(plan.locator(".citation-doc").first).to_have_text("Kế hoạch 146/KH-UBND")
        choice = ask(page, "Hạn chót khi nào?")
        options = choice.locator(".quick-reply")
        expect(options.first).to_be_visible()
        assert options.count() >= 2
        title = options.nth(1).inner_text()
        options.nth(1).click()
        expect(page.locator("#messages .row.user").last).to_contain_text(title)
        chosen = bot_rows(page).nth(choice_index(page, choice) + 1)
        expect(chosen).to_contain_text("vào năm 2023")
        expect(options.nth(1)).to_have_attribute("aria-pressed", "true")
        expect(options.nth(0)).to_be_disabled()
        # Only the latest answer can be rated: the server rates the conversation's last answer.
        expect(page.locator(".feedback")).to_have_count(1)

        # 👎 on the answer: the assistant acknowledges, the rating shows as chosen and is disabled.
        down = chosen.get_by_role("button", name="Câu trả lời chưa đúng")
        down.click()
        expect(bot_rows(page).last).to_contain_text("Xin lỗi")
        expect(down).to_have_attribute("aria-pressed", "true")
        expect(down).to_be_disabled()
        expect(chosen.get_by_role("button", name="Câu trả lời hữu ích")).to_be_disabled()

        assert_no_horizontal_scroll(page)
        screenshot(page, "webchat-phone.png", PHONE)
        assert page.errors == [] and csp_violations(page) == []
        # The conversation is the server's HttpOnly cookie: no id the page's script could read or choose.
        (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert COOKIE not in page.evaluate("document.cookie")
        assert page.evaluate("Object.keys(localStorage)") == []


def choice_index(page, row) -> int:
    """The position of `row` among the assistant's rows."""
    return row.evaluate("(r) => Array.from(document.querySelectorAll('#messages .row.bot')).indexOf(r)")


def test_desktop_width_suggestion_chip_and_many_citations(gateway_settings, open_chat):
    from playwright.sync_api import expect

    with serve(create_app(gateway_settings)) as url:
        page = open_chat(url, DESKTOP)
        page.get_by_role("button", name="Công văn 704/UBND-KGVX nói gì?").click()
        expect(bot_rows(page).nth(1).locator(".citation-doc").first).to_have_text("Công văn 704/UBND-KGVX")
        expect(ask(page, "Văn bản đó do ai ký?")).to_contain_text("không ghi người ký")
        # "New conversation": the server issues another cookie, and the old context is gone.
        cookie = page.context.cookies()[0]["value"]
        page.get_by_role("button", name="Bắt đầu cuộc trò chuyện mới").click()
        expect(page.locator(".row.bot.welcome")).to_have_count(1)
        expect(ask(page, "Văn bản đó do ai ký?")).not_to_contain_text("không ghi người ký")
        assert page.context.cookies()[0]["value"] != cookie
        page.get_by_role("button", name="Công văn 704/UBND-KGVX nói gì?").click()
        expect(bot_rows(page).nth(2).locator(".citation-doc").first).to_have_text("Công văn 704/UBND-KGVX")
        weekly = ask(page, "Tuần này UBND tỉnh có chỉ đạo gì mới?")
        cards = weekly.locator(".citation")
        expect(cards.first).to_be_visible()
        if cards.count() > 3:        # the rest folded behind a button
            expect(cards.nth(3)).to_be_hidden()
        bubble = weekly.locator(".bubble-text")
        assert bubble.evaluate("(b) => getComputedStyle(b.parentElement).whiteSpace") == "pre-line"
        assert "\n" in bubble.inner_text()          # the answer's line breaks are kept
        assert_no_horizontal_scroll(page)
        page.locator("#messages").evaluate(      # the conversation from its first question in view
            """(m) => { const row = m.querySelector('.row.user');
                        m.scrollTop += row.getBoundingClientRect().top - m.getBoundingClientRect().top - 12; }""")
        assert page.evaluate("document.scrollingElement.scrollTop") == 0
        screenshot(page, "webchat-desktop.png", DESKTOP)
        assert page.errors == [] and csp_violations(page) == []


def test_server_text_is_never_html_and_errors_become_a_vietnamese_apology(gateway_settings, open_chat):
    from playwright.sync_api import expect

    with serve(create_app(gateway_settings)) as url:
        page = open_chat(url, {"width": 360, "height": 740})
        hostile = '<img src=x onerror="window.pwned=1"><b>đậm</b>'
        page.route("**/api/chat", lambda route: route.fulfill(json={"messages": [{
            "text": hostile, "buttons": [{"title": "<i>nút</i>", "payload": "/x"}],
            "citations": [{"doc_number": "1/<b>X</b>", "doc_type": "Công văn", "issued_date": "2024-01-02",
                           "issuer": "<script>1</script>", "quote": "<u>trích</u>", "title": None,
                           "bulletin": None, "source": "s", "score": 1.0, "passage_id": "p"}],
            "abstained": False}]}))
        answer = ask(page, "thử")
        expect(answer.locator(".bubble-text")).to_have_text(hostile)
        expect(answer.locator(".quick-reply")).to_have_text("<i>nút</i>")
        expect(answer.locator(".citation-date")).to_have_text("Ngày 02/01/2024")
        assert answer.locator("img, b, i, u, script").count() == 0
        assert page.evaluate("window.pwned") is None

        # A refusal the gateway explains (429: too many new conversations) shows its Vietnamese words.
        page.unroute("**/api/chat")
        page.route("**/api/chat", lambda route: route.fulfill(status=429, json={
            "error": "too many new conversations from this address",
            "messages": [{"text": TOO_MANY_CONVERSATIONS, "buttons": [], "citations": [], "abstained": None}]}))
        expect(ask(page, "còn nữa không?").locator(".bubble-text")).to_have_text(TOO_MANY_CONVERSATIONS)
        page.unroute("**/api/chat")
        page.route("**/api/chat", lambda route: route.fulfill(status=502, body="bad gateway"))
        expect(ask(page, "lỗi máy chủ")).to_contain_text("Xin lỗi, hệ thống trợ lý đang gặp sự cố")
        page.unroute("**/api/chat")
        page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
        failed = ask(page, "Công văn 704/UBND-KGVX nói gì?")
        expect(failed).to_contain_text("Xin lỗi, hiện chưa kết nối được với trợ lý")
        expect(page.locator("#typing")).to_be_hidden()

        # When the network is back, "Thử lại" sends the same question again.
        page.unroute("**/api/chat")
        failed.get_by_role("button", name="Gửi lại câu hỏi").click()
        expect(bot_rows(page).last.locator(".citation-doc").first).to_have_text("Công văn 704/UBND-KGVX")
        assert_no_horizontal_scroll(page)
        assert page.errors == []


# -- security headers ---------------------------------------------------------------------------

def test_every_response_carries_the_security_headers():
    settings = Settings(embed_origins="self https://langson.gov.vn")
    with serve(create_app(settings)) as url:
        responses = [httpx.get(f"{url}/", timeout=10), httpx.get(f"{url}/static/chat.js", timeout=10),
                     httpx.get(f"{url}/static/chat.css", timeout=10),
                     httpx.post(f"{url}/api/chat", content=b"not json", timeout=10)]
    for response in responses:
        policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["img-src"] == "'self' data:" and policy["connect-src"] == "'self'"
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'self' https://langson.gov.vn"
        assert "unsafe" not in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    page = responses[0].text
    assert "<script>" not in page and " style=" not in page and "<style" not in page   # nothing inline to allow


def test_the_policy_is_enforced_in_the_browser_and_the_chat_never_violates_it(open_chat):
    with serve(create_app(Settings())) as url:
        page = open_chat(url, PHONE)
        assert csp_violations(page) == []                       # the chat's own page, script and style
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.injected = 1"; document.body.appendChild(s);
                                 const d = document.createElement("div");
                                 d.innerHTML = '<img src="x" onerror="window.injected = 2">';
                                 document.body.appendChild(d); }""")
        page.wait_for_function("window.cspViolations.length >= 1")
        assert page.evaluate("window.injected") is None          # injected markup cannot run
        assert all(v.startswith("script-src") for v in csp_violations(page))


def test_only_the_embed_origins_may_frame_the_chat(browser):
    portal_port, other_port = free_port(), free_port()

    def portal(chat_url: str) -> Starlette:
        frame = f'<!doctype html><title>Cổng</title><iframe id="chat" src="{chat_url}/"></iframe>'
        return Starlette(routes=[Route("/", lambda request: HTMLResponse(frame))])

    settings = Settings(embed_origins=f"self http://127.0.0.1:{portal_port}")
    with serve(create_app(settings)) as chat_url, serve(portal(chat_url), portal_port) as allowed, \
            serve(portal(chat_url), other_port) as other:
        context = browser.new_context()
        try:
            framed = {}
            for name, url in (("allowed", allowed), ("other", other)):
                page = context.new_page()
                page.goto(url)
                frame = page.frame_locator("#chat")
                page.wait_for_load_state("load")      # the frame's own load (or refusal) comes first
                framed[name] = frame.locator("h1", has_text="Trợ lý ảo UBND tỉnh Lạng Sơn").count()
        finally:
            context.close()
    assert framed == {"allowed": 1, "other": 0}


# -- a document carrying markup, through the real dialogue ---------------------------------------

HOSTILE_IMG = '<img src=x onerror="window.pwned=1">'
HOSTILE_SCRIPT = "<script>window.pwned=2</script>"
HOSTILE_TITLE = 'Gỡ <b onmouseover="window.pwned=3">mã lạ</b> khỏi Cổng thông tin'
HOSTILE_DOCUMENT = {
    "id": "hostile-1", "doc_number": "999/UBND-VP", "doc_type": "Công văn", "issued_date": "2024-05-20",
    "issuer": "UBND tỉnh", "title": HOSTILE_TITLE,
    "text": f"Công văn 999/UBND-VP yêu cầu Văn phòng UBND tỉnh gỡ đoạn mã {HOSTILE_IMG} và {HOSTILE_SCRIPT} "
            "khỏi Cổng thông tin điện tử tỉnh."}


@pytest.fixture(scope="module")
def hostile_dialogue(tmp_path_factory, embedder):
    """The real action server and Rasa over an index of one document whose text is HTML and script."""
    from bot.processes import DialogueStack
    from retrieval.pipeline import ingest

    home = tmp_path_factory.mktemp("hostile")
    source = home / "hostile.jsonl"
    source.write_text(json.dumps(HOSTILE_DOCUMENT, ensure_ascii=False) + "\n", encoding="utf-8")
    assert len(ingest([source], home / "index", embedder).added) == 1
    env = {"TROLYAO_INDEX": str(home / "index"), "TROLYAO_FEEDBACK": str(home / "feedback.sqlite3"),
           "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with DialogueStack(env) as stack:
        # Its own data directory: a module fixture starts before the per-test isolation of XDG_DATA_HOME.
        yield Settings(rasa_url=stack.rasa_url, action_server_url=f"http://127.0.0.1:{stack.action_port}",
                       data=home / "gateway")


@pytest.mark.stack
def test_an_ingested_document_with_html_and_script_shows_as_text_and_nothing_runs(hostile_dialogue, open_chat):
    from playwright.sync_api import expect

    with serve(create_app(hostile_dialogue)) as url:
        page = open_chat(url, DESKTOP)
        answer = ask(page, "UBND tỉnh yêu cầu gỡ đoạn mã nào khỏi Cổng thông tin điện tử?")
        bubble, quote = answer.locator(".bubble-text"), answer.locator(".citation-quote").first
        for shown in (bubble, quote):
            expect(shown).to_contain_text(HOSTILE_IMG)
            expect(shown).to_contain_text(HOSTILE_SCRIPT)
        expect(answer.locator(".citation-doc").first).to_have_text("Công văn 999/UBND-VP")
        expect(answer).to_contain_text(HOSTILE_TITLE)
        answer.get_by_text("mã lạ", exact=False).first.hover()
        assert answer.locator("img, script, b").count() == 0
        assert page.evaluate("window.pwned") is None
        assert page.errors == [] and csp_violations(page) == []
