"""The voice flow every channel shares: a voice note → its words → the answer to them, as if typed.

A channel turns its voice message into a `VoiceNote` (who, its message id, where to download it, and
the duration and size it declares) and sends on what `VoiceFlow.answer` returns. The gateway admits
the note first as it would a typed message (a redelivery is answered once, a flood gets the polite
limit), before anything is downloaded or transcribed. Then: declared limits, a full transcription
queue (no download for a note that would be refused), the download (capped,
bot/voice/fetch.py), the transcription (bot/voice/transcriber.py: its own limits, one at a time per
process), and the words go through the gateway as typed words (`Gateway.answer_words`). The reply is
"Tôi nghe được: «…»" (Whisper base is weak on Vietnamese: the user sees what the answer is to), the
answer, and a button "Tôi nói chưa đúng" that the gateway answers with a request to type.

Every failure has its Vietnamese reply: voice off, too long (the limit in seconds), too large, busy,
unreadable (no speech, not audio, the download failed). Logs carry the sender's pseudonym and
figures, never the words or the file's URL (Telegram's holds the bot token).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from bot.gateway import VOICE_MISHEARD, Gateway
from bot.rasa_client import BotMessage
from bot.voice.fetch import DownloadFailed, DownloadTooLarge, download, download_client
from bot.voice.transcriber import (
    Transcriber,
    Transcript,
    VoiceBusy,
    VoiceError,
    VoiceTooLarge,
    VoiceTooLong,
    VoiceUnavailable,
    voice_available,
)
from retrieval.settings import Settings

log = logging.getLogger("trolyao.voice")

MISHEARD_TITLE = "Tôi nói chưa đúng"
MISHEARD_BUTTON = {"title": MISHEARD_TITLE, "payload": VOICE_MISHEARD}
TYPE_PLEASE = ("Xin lỗi, trợ lý chưa nghe được tin nhắn thoại. Bạn hãy gõ câu hỏi bằng chữ "
               "về chỉ đạo, điều hành của UBND tỉnh nhé.")
UNREADABLE = ("Xin lỗi, tôi không nghe rõ tin nhắn thoại này. Bạn vui lòng nói lại chậm và rõ hơn, "
              "hoặc gõ câu hỏi bằng chữ nhé.")
BUSY = ("Trợ lý đang bận nghe các tin nhắn thoại khác. Bạn vui lòng thử lại sau ít phút, "
        "hoặc gõ câu hỏi bằng chữ nhé.")


def heard(words: str) -> str:
    return f"Tôi nghe được: «{words}»"


def too_long(limit_s: float) -> str:
    return (f"Tin nhắn thoại dài quá: tôi chỉ nghe được tin dưới {limit_s:g} giây. Bạn vui lòng hỏi ngắn "
            "gọn hơn, mỗi lần một câu hỏi, hoặc gõ câu hỏi bằng chữ nhé.")


def too_large(limit_bytes: int) -> str:
    return (f"Tệp ghi âm lớn quá: tôi chỉ nhận tệp đến {limit_bytes / 1_000_000:g} MB. Bạn vui lòng gửi "
            "tin nhắn thoại ngắn hơn, hoặc gõ câu hỏi bằng chữ nhé.")


Locate = Callable[[], Awaitable[str]]   # the download URL; DownloadFailed when the channel cannot tell


@dataclass(frozen=True)
class VoiceNote:
    """A voice message as a channel received it."""
    channel: str                     # "tg", "zalo", "messenger"
    user_id: str
    message_id: str | None           # the channel's id: a redelivery is answered once
    url: str | Locate                # where to download it, or how to find out (Telegram's getFile)
    duration_s: float | None = None  # as the channel declares it: checked before downloading
    size_bytes: int | None = None


class Transcribing(Protocol):
    """What the flow needs of bot/voice/transcriber.Transcriber (tests may give another engine)."""

    async def transcribe(self, audio: bytes) -> Transcript: ...

    @property
    def busy(self) -> bool: ...


class VoiceFlow:
    def __init__(self, gateway: Gateway, transcriber: Transcribing | None, max_s: float, max_bytes: int,
                 http: httpx.AsyncClient | None = None, own_transcriber: bool = False):
        """``transcriber``: None when voice is off (every note gets "hãy gõ câu hỏi"); ``max_s`` and
        ``max_bytes``: the limits checked against what a channel declares and while downloading;
        ``own_transcriber``: closed with the flow."""
        self.gateway = gateway
        self.transcriber = transcriber
        self._own_transcriber = own_transcriber
        self.max_s = max_s
        self.max_bytes = max_bytes
        self._own_http = http is None
        self.http = http or download_client()

    @classmethod
    def from_settings(cls, settings: Settings, gateway: Gateway) -> VoiceFlow:
        """Transcription when TROLYAO_VOICE is set and the engine is installed; the model loads on the
        first voice note. Give one flow to every channel: the transcriber's queue is per process."""
        return cls(gateway, transcriber_for(settings), settings.voice_max_s, settings.voice_max_bytes,
                   own_transcriber=True)

    async def answer(self, note: VoiceNote) -> list[BotMessage] | None:
        """The replies to send, or None for a redelivery (answered the first time)."""
        admission = self.gateway.admit(note.channel, note.user_id, note.message_id)
        if admission.redelivered:
            return None
        if admission.refusal is not None:
            return admission.refusal
        who = self.gateway.pseudonyms.of(admission.sender)
        if self.transcriber is None:
            log.info("%s voice note: voice is off, asked to type", who)
            return [BotMessage(TYPE_PLEASE)]
        refusal = self._declared_refusal(note)
        if refusal is not None:
            log.info("%s voice note refused before download: %s", who, refusal)
            return [BotMessage(refusal)]
        if self.transcriber.busy:
            log.warning("%s voice note refused before download: transcription queue full", who)
            return [BotMessage(BUSY)]
        try:
            url = note.url if isinstance(note.url, str) else await note.url()
            audio = await download(self.http, url, self.max_bytes)
            transcript = await self.transcriber.transcribe(audio)
        except (DownloadTooLarge, VoiceTooLarge) as exc:
            log.info("%s voice note too large: %s", who, exc)
            return [BotMessage(too_large(self.max_bytes))]
        except VoiceTooLong as exc:
            log.info("%s voice note too long: %s", who, exc)
            return [BotMessage(too_long(self.max_s))]
        except VoiceBusy:
            log.warning("%s voice note refused: transcription queue full", who)
            return [BotMessage(BUSY)]
        except VoiceUnavailable as exc:
            log.warning("%s voice note: transcription unavailable (%s)", who, exc)
            return [BotMessage(TYPE_PLEASE)]
        except (DownloadFailed, VoiceError) as exc:   # VoiceUnreadable and any other reading failure
            log.info("%s voice note unreadable: %s: %s", who, type(exc).__name__, exc)
            return [BotMessage(UNREADABLE)]
        words = " ".join(transcript.text.split())
        log.info("%s voice note: %.1f s of audio read in %.1f s, %d characters", who, transcript.duration_s,
                 transcript.compute_s, len(words))
        if not words:
            return [BotMessage(UNREADABLE)]
        replies = await self.gateway.answer_words(admission, words, offer=[MISHEARD_BUTTON])
        return [BotMessage(heard(words)), *replies]

    def _declared_refusal(self, note: VoiceNote) -> str | None:
        if note.size_bytes is not None and note.size_bytes > self.max_bytes:
            return too_large(self.max_bytes)
        if note.duration_s is not None and note.duration_s > self.max_s:
            return too_long(self.max_s)
        return None

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
        if self._own_transcriber and isinstance(self.transcriber, Transcriber):
            self.transcriber.close()


def transcriber_for(settings: Settings) -> Transcribing | None:
    """The process's transcriber (its model loads on first use), or None when voice is off or its extra
    or model is not installed."""
    return Transcriber.from_settings(settings) if voice_available(settings) else None
