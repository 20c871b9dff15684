"""The web chat in a real headless Chromium (Debian's `chromium`, driven by Playwright; no browser
download) against the real gateway + Rasa + action server. Screenshots at phone and desktop width
are written to test-artifacts/ at the repository root."""
from __future__ import annotations

import os
import re
import shutil
import struct
from pathlib import Path

import pytest
from asgi_server import serve

from bot.app import create_app

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
        page.goto(url)
        expect(page.locator(".row.bot.welcome")).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()


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
        sender = page.evaluate("localStorage.getItem('trolyao.webchat.sender')")
        assert re.fullmatch(r"web-[0-9a-f]{24}", sender), sender

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
        assert page.errors == []


def choice_index(page, row) -> int:
    """The position of `row` among the assistant's rows."""
    return row.evaluate("(r) => Array.from(document.querySelectorAll('#messages .row.bot')).indexOf(r)")


def test_desktop_width_suggestion_chip_and_many_citations(gateway_settings, open_chat):
    from playwright.sync_api import expect

    with serve(create_app(gateway_settings)) as url:
        page = open_chat(url, DESKTOP)
        page.get_by_role("button", name="Công văn 704/UBND-KGVX nói gì?").click()
        expect(bot_rows(page).nth(1).locator(".citation-doc").first).to_have_text("Công văn 704/UBND-KGVX")
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
        assert page.errors == []


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
