"""The web routes for officials: signing in by invitation, who the page is talking to, downloads.

- `GET /officials/join/<token>`: spends an invitation (bot/invitations.py) on this browser's web
  conversation (started if it has none), records it in the sign-ins store (retrieval/officials.py,
  which the action server reads every turn) and redirects to the chat; a used, expired or forged link
  gets a Vietnamese page saying so and what to do.
- `GET /api/me`: `{"official": bool, "name"}` for the page's greeting (nothing is started).
- `GET /files/<token>`: a report the chat made (bot/downloads.py), for the conversation it was
  made for.
Pages carry no inline script or style (the CSP forbids them) and escape everything they show.
"""
from __future__ import annotations

import html
import logging

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.downloads import DOCX, LinkRefused, ReportFile, ReportFiles
from bot.invitations import InvitationRefused, Invitations
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage
from bot.web_identity import Refused, WebIdentity
from retrieval.officials import InviteUsed, SignIns

log = logging.getLogger("trolyao.gateway")

JOIN_REFUSED = {
    "used": (410, "Liên kết đã được sử dụng",
             "Liên kết đăng nhập này đã được dùng một lần nên không dùng lại được. Nếu bạn chưa đăng nhập "
             "được, hãy đề nghị quản trị viên cấp liên kết mới."),
    "expired": (410, "Liên kết đã hết hạn",
                "Liên kết đăng nhập này đã hết hạn. Bạn vui lòng đề nghị quản trị viên cấp liên kết mới."),
    "forged": (400, "Liên kết không hợp lệ",
               "Liên kết đăng nhập này không hợp lệ (có thể bị sao chép thiếu). Bạn vui lòng mở lại đúng "
               "liên kết đã nhận, hoặc đề nghị quản trị viên cấp liên kết mới."),
}
DOWNLOAD_REFUSED = {
    "expired": (410, "Liên kết đã hết hạn",
                "Liên kết tải báo cáo đã hết hạn và tệp đã được xóa. Bạn vui lòng yêu cầu lập lại báo cáo "
                "trong cuộc trò chuyện."),
    "gone": (410, "Tệp không còn",
             "Tệp báo cáo này không còn trên máy chủ. Bạn vui lòng yêu cầu lập lại báo cáo trong cuộc trò chuyện."),
    "not_yours": (403, "Không mở được liên kết",
                  "Liên kết tải báo cáo chỉ mở được trong trình duyệt đã yêu cầu lập báo cáo."),
    "forged": (400, "Liên kết không hợp lệ", "Liên kết tải báo cáo này không hợp lệ."),
}


def notice_page(status: int, title: str, text: str, action: str = "") -> HTMLResponse:
    """A short Vietnamese page; ``action`` (HTML the caller built) goes under the text."""
    body = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/chat.css"></head>'
            f'<body><main class="notice"><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{action}'
            f'<p><a href="/">Về trang trò chuyện</a></p></main></body></html>')
    return HTMLResponse(body, status_code=status)


def confirm_page(token: str, name: str) -> HTMLResponse:
    """What opening an invitation shows: spending it takes a press of the button (a POST), so a chat
    app's link preview or a mail scanner fetching the link never uses it up."""
    form = (f'<form method="post" action="/officials/join/{html.escape(token, quote=True)}">'
            f'<button type="submit" class="send-button confirm">Xác nhận đăng nhập</button></form>')
    return notice_page(200, "Đăng nhập với quyền cán bộ",
                       f"Lời mời dành cho {name}. Bấm nút dưới đây để trình duyệt này được xem cả các văn bản "
                       "nội bộ và lập báo cáo nhiệm vụ trong trò chuyện.", form)


class OfficialsWeb:
    def __init__(self, identity: WebIdentity, signins: SignIns, invitations: Invitations, reports: ReportFiles,
                 pseudonyms: Pseudonyms):
        self.identity = identity
        self.signins = signins
        self.invitations = invitations
        self.reports = reports
        self.pseudonyms = pseudonyms

    def routes(self) -> list[Route]:
        return [Route("/officials/join/{token}", self.join, methods=["GET", "HEAD", "POST"]), Route("/api/me", self.me),
                Route("/files/{token}", self.download)]

    async def join(self, request: Request) -> Response:
        """GET (and HEAD): the invitation checked and a confirmation page; POST: spent on this browser."""
        token = request.path_params["token"]
        if request.method != "POST":
            try:
                invitation = self.invitations.open(token)
            except InvitationRefused as refused:
                return notice_page(*JOIN_REFUSED[refused.reason])
            if self.signins.is_used(invitation.invite):
                return notice_page(*JOIN_REFUSED["used"])
            return confirm_page(token, invitation.name)
        try:
            invitation = self.invitations.open(token)
            sender = f"web:{self.identity.conversation(request)}"
            self.signins.redeem(invitation.invite, sender, invitation.name)
        except InvitationRefused as refused:
            log.info("officials: invitation refused (%s)", refused.reason)
            return notice_page(*JOIN_REFUSED[refused.reason])
        except InviteUsed:
            log.info("officials: invitation refused (used)")
            return notice_page(*JOIN_REFUSED["used"])
        except Refused as refused:
            return notice_page(refused.status, "Chưa đăng nhập được", refused.text or refused.error)
        log.info("officials: %s signed in by invitation %s", self.pseudonyms.of(sender), invitation.invite)
        return RedirectResponse("/", status_code=303)

    async def me(self, request: Request) -> JSONResponse:
        conversation = self.identity.current(request)
        signin = self.signins.get(f"web:{conversation}") if conversation else None
        return JSONResponse({"official": signin is not None, "name": signin.name if signin else None})

    async def download(self, request: Request) -> Response:
        conversation = self.identity.current(request)
        try:
            report, path = self.reports.open(request.path_params["token"],
                                             f"web:{conversation}" if conversation else None)
        except LinkRefused as refused:
            log.info("reports: download refused (%s)", refused.reason)
            return notice_page(*DOWNLOAD_REFUSED[refused.reason])
        response = FileResponse(path, media_type=DOCX, filename=report.title)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    def carry_over(self, old: str | None, new: str | None) -> None:
        """"Cuộc trò chuyện mới" on a signed-in page: the new conversation is the official's too."""
        if old and new and old != new and self.signins.path.is_file():
            self.signins.carry_over(f"web:{old}", f"web:{new}")

    def web_replies(self, replies: list[BotMessage], owner: str | None) -> list[dict]:
        """Replies as the web API returns them: a report becomes ``{"title", "url"}``, a link that
        only ``owner``'s cookie opens (None: an integration's bearer link)."""
        shown = []
        for reply in replies:
            body = {"text": reply.text, "buttons": reply.buttons, "citations": reply.citations,
                    "abstained": reply.abstained}
            report = ReportFile.of(reply.document)
            if report is not None:
                body["document"] = {"title": report.title, "url": self.reports.link(report, owner)}
            shown.append(body)
        return shown
