"""A tiny assistant on localhost speaking both REST shapes (Rasa webhook, gateway /api/chat).

It keeps a little state per sender, like the dialogue does: "Ai chủ trì?" is answered from the
topic of that sender's previous question.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CITATION_704 = {"doc_number": "704/UBND-KGVX", "doc_type": "Công văn", "issued_date": "2022-06-23",
                "issuer": "UBND tỉnh", "title": "Chỉ đạo tăng cường công tác phòng, chống sốt xuất huyết",
                "bulletin": "", "source": "", "quote": "Sở Y tế chủ trì", "score": 1.0}
ABSTAIN = "Xin lỗi, tôi chưa tìm thấy chỉ đạo nào trả lời câu hỏi này."


def answer(state: dict, sender: str, message: str) -> tuple[str, list[dict], bool]:
    if "sốt xuất huyết" in message:
        state[sender] = "704"
        return "UBND tỉnh chỉ đạo tăng cường phòng, chống sốt xuất huyết.", [CITATION_704], False
    if message == "Ai chủ trì?" and state.get(sender) == "704":
        return "Sở Y tế chủ trì, phối hợp với các cơ quan liên quan.", [CITATION_704], False
    if message == "<script>":
        return "<b>không</b> & “trích”", [], False
    return ABSTAIN, [], True


class FakeAssistant:
    def __init__(self):
        self.requests: list[dict] = []
        self.state: dict[str, str] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):   # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                      **body})
                if self.path.startswith("/broken"):
                    self._send(500, b"boom")
                    return
                if self.path.startswith("/garbage"):
                    self._send(200, b"not json")
                    return
                text, citations, abstained = answer(fake.state, body["sender"], body["message"])
                if self.path == "/webhooks/rest/webhook":
                    payload = [{"text": text, "buttons": [{"title": "👍", "payload": "/up"}]}]
                    payload.append({"custom": {"citations": citations, "abstained": abstained}})
                else:
                    payload = {"messages": [{"text": text, "buttons": [], "citations": citations,
                                             "abstained": abstained}]}
                self._send(200, json.dumps(payload, ensure_ascii=False).encode())

            def _send(self, status, data):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
