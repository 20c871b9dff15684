"""No secret in any log.

`make run`'s launcher (`python -m bot.run`: action server, Rasa, gateway, every process's log on its
output) runs with known values for every secret — the Telegram bot token and webhook secret, the Zalo
OA secret key, app secret, access and refresh tokens (and the tokens Zalo issues on a refresh), the
Messenger Page token, app secret and verify token, an API key — with Telegram, Zalo and Messenger
pointed at fakes of their APIs on localhost. Every channel is used, including what logs the most: a
rejected webhook, an expired Zalo token refreshed, a pressed button, a refused Messenger verification,
a Send API failure.
Then all of the output is searched for each value.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest

from asgi_server import serve
from bot.processes import free_port
from conftest import REPO
from fake_telegram import FakeTelegram, callback_update, message_update
from fake_messenger import VERSION, FakeGraph
from fake_zalo import FakeZalo

pytestmark = pytest.mark.stack

SECRETS = {
    "TELEGRAM_BOT_TOKEN": "731905:tgTokenSecretValue-Q7w",
    "TELEGRAM_WEBHOOK_SECRET": "tgWebhookSecretValue_K2p",
    "ZALO_OA_SECRET_KEY": "zaloOaSecretKeyValue-M4r",
    "ZALO_APP_SECRET": "zaloAppSecretValue-B8n",
    "ZALO_ACCESS_TOKEN": "zaloAccessTokenValue-T1x",
    "ZALO_REFRESH_TOKEN": "zaloRefreshTokenValue-R5y",
    "MESSENGER_PAGE_ACCESS_TOKEN": "EAAmessengerPageTokenValue-P3q",
    "MESSENGER_APP_SECRET": "messengerAppSecretValue-S6w",
    "MESSENGER_VERIFY_TOKEN": "messengerVerifyTokenValue-V2e",
    "TROLYAO_API_KEY": "trolyaoApiKeyValue-Z9c",
}
ZALO_APP_ID = "4455667788"


def zalo_post(url: str, event: dict, sign: bool = True) -> httpx.Response:
    body = json.dumps(event).encode()
    digest = hashlib.sha256(ZALO_APP_ID.encode() + body + event["timestamp"].encode()
                            + SECRETS["ZALO_OA_SECRET_KEY"].encode()).hexdigest()
    headers = {"X-ZEvent-Signature": f"mac={digest}"} if sign else {}
    return httpx.post(f"{url}/zalo/webhook", content=body, headers=headers, timeout=30)


def zalo_text(user: str, text: str) -> dict:
    return {"app_id": ZALO_APP_ID, "event_name": "user_send_text", "timestamp": str(int(time.time() * 1000)),
            "sender": {"id": user}, "recipient": {"id": "1"}, "message": {"text": text, "msg_id": uuid.uuid4().hex}}


def messenger_post(url: str, user: str, text: str, sign: bool = True) -> httpx.Response:
    event = {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [
        {"sender": {"id": user}, "recipient": {"id": "1"}, "message": {"mid": uuid.uuid4().hex, "text": text}}]}]}
    body = json.dumps(event).encode()
    digest = hmac.new(SECRETS["MESSENGER_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={digest}"} if sign else {}
    return httpx.post(f"{url}/messenger/webhook", content=body, headers=headers, timeout=30)


def test_no_secret_reaches_any_process_log(sample_index, tmp_path):
    telegram = FakeTelegram()
    zalo = FakeZalo(ZALO_APP_ID, SECRETS["ZALO_APP_SECRET"], SECRETS["ZALO_ACCESS_TOKEN"],
                    SECRETS["ZALO_REFRESH_TOKEN"])
    ports = {"gateway": free_port(), "rasa": free_port(), "actions": free_port()}
    url = f"http://127.0.0.1:{ports['gateway']}"
    output: list[str] = []
    graph = FakeGraph(SECRETS["MESSENGER_PAGE_ACCESS_TOKEN"])
    with serve(telegram.app) as telegram_url, serve(zalo.app) as zalo_url, serve(graph.app) as graph_url:
        telegram.url = telegram_url
        env = {**os.environ, **SECRETS, "TROLYAO_PORT": str(ports["gateway"]),
               "TROLYAO_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
               "TROLYAO_ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}",
               "TROLYAO_INDEX": str(sample_index), "TROLYAO_DATA": str(tmp_path / "data"),
               "TELEGRAM_API_BASE": telegram_url, "TELEGRAM_WEBHOOK_URL": f"{url}/telegram/webhook",
               "ZALO_APP_ID": ZALO_APP_ID, "ZALO_API_BASE": zalo_url, "ZALO_OAUTH_BASE": zalo_url,
               "MESSENGER_API_BASE": f"{graph_url}/{VERSION}", "HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "bot.run"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 600
            while not any("Trợ lý ảo is running" in line for line in output):
                assert proc.poll() is None and time.monotonic() < deadline, "bot.run did not start:\n" + "".join(output)
                time.sleep(0.5)   # polling the launcher's output, as tests/test_make_run.py does

            # web chat
            web = httpx.post(f"{url}/api/chat", json={"sender": "s1", "message": "Công văn 704/UBND-KGVX nói gì?"},
                             headers={"Authorization": f"Bearer {SECRETS['TROLYAO_API_KEY']}"}, timeout=60)
            assert web.status_code == 200 and web.json()["messages"][0]["citations"]
            # Telegram: a rejected webhook, a question with choices, a pressed button
            secret = {"X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
            hook = f"{url}/telegram/webhook"
            assert httpx.post(hook, json=message_update(1, 51, "xin chào"),
                              headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}, timeout=30).status_code == 403
            httpx.post(hook, json=message_update(2, 52, "Kế hoạch 146/KH-UBND về việc gì?"), headers=secret, timeout=30)
            telegram.wait_sent(52, 1)
            httpx.post(hook, json=message_update(3, 52, "Hạn chót khi nào?"), headers=secret, timeout=30)
            choice = telegram.wait_sent(52, 2)[1]
            data = choice.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            httpx.post(hook, json=callback_update(4, 52, data, "cb-1", message=choice.result), headers=secret, timeout=30)
            telegram.wait_sent(52, 3)
            # Zalo: a rejected event, a question, then one after the access token expired (refreshed)
            assert zalo_post(url, zalo_text("61", "xin chào"), sign=False).status_code == 401
            assert zalo_post(url, zalo_text("62", "Sở Y tế được giao những việc gì?")).status_code == 200
            zalo.wait_sent("62", 1)
            zalo.expire_access_token()
            assert zalo_post(url, zalo_text("62", "Công văn 704/UBND-KGVX nói gì?")).status_code == 200
            zalo.wait_sent("62", 2)
            # Messenger: a refused and an accepted verification, an unsigned event, a question, a
            # reply the Send API refuses
            hook = f"{url}/messenger/webhook"
            check = {"hub.mode": "subscribe", "hub.challenge": "42"}
            assert httpx.get(hook, params={**check, "hub.verify_token": "wrong"}, timeout=30).status_code == 403
            assert httpx.get(hook, params={**check, "hub.verify_token": SECRETS["MESSENGER_VERIFY_TOKEN"]},
                             timeout=30).text == "42"
            assert messenger_post(url, "71", "xin chào", sign=False).status_code == 403
            assert messenger_post(url, "72", "Công văn 704/UBND-KGVX nói gì?").status_code == 200
            graph.wait_sent("72", 1)
            graph.fail_messages = True
            assert messenger_post(url, "72", "Sở Y tế được giao những việc gì?").status_code == 200
            graph.wait_for(lambda fake: any(c.status == 500 for c in fake.calls))
            issued = {"zalo access token issued on refresh": zalo.access_token,
                      "zalo refresh token issued on refresh": zalo.refresh_token}
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            proc.wait(90)
            reader.join(10)
    log = "".join(output)
    assert "[gateway]" in log and "[rasa]" in log and "[actions]" in log     # every process's log was read
    gateway_log = "".join(line for line in output if line.startswith("[gateway]"))
    for said in ("telegram: webhook set", "zalo: access token refreshed", "missing or wrong secret rejected",
                 "zalo webhook refused", "messenger webhook verification refused", "messenger webhook refused",
                 "messenger: on", "not sent: HTTP 500"):
        assert said in gateway_log, gateway_log
    assert len(zalo.refreshes) == 1 and issued["zalo access token issued on refresh"] != SECRETS["ZALO_ACCESS_TOKEN"]
    leaked = [name for name, value in {**SECRETS, **issued}.items() if value in log]
    assert leaked == [], f"secrets in the logs: {leaked}"
