"""Voice note → Vietnamese text, on this machine: PyAV decodes, faster-whisper (Whisper base) transcribes.

The channels call ``await Transcriber.transcribe(audio_bytes)`` before the dialogue sees anything.
Limits are checked before the model runs: the size as received, then the duration (container
metadata when it states one, the decoded samples in any case, decoding stops as soon as they pass
the limit). One transcription runs at a time per process (two CPU threads: the machine serves the
dialogue too) in one worker thread; ``queue`` more may wait behind it, the next is told VoiceBusy.
"""
from __future__ import annotations

import asyncio
import importlib.util
import io
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from . import model as model_files

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000    # what Whisper's feature extractor expects


@dataclass(frozen=True)
class Transcript:
    text: str
    duration_s: float     # of the audio, as decoded
    compute_s: float      # worker time: decoding and the model (not the model's one-time loading)


class VoiceError(Exception):
    """A voice note that was not transcribed; the subclass says why (English, for logs)."""


class VoiceTooLong(VoiceError):
    def __init__(self, duration_s: float, max_s: float):
        super().__init__(f"voice note of at least {duration_s:.1f} s is longer than the {max_s:g} s allowed")
        self.duration_s, self.max_s = duration_s, max_s


class VoiceTooLarge(VoiceError):
    def __init__(self, size: int, max_bytes: int):
        super().__init__(f"voice note of {size} bytes is larger than the {max_bytes} bytes allowed")
        self.size, self.max_bytes = size, max_bytes


class VoiceBusy(VoiceError):
    """Every transcription slot of this process is taken."""


class VoiceUnreadable(VoiceError):
    """Not audio we can decode, or audio in which the model heard nothing."""


class VoiceUnavailable(VoiceError):
    """The voice extra is not installed or the model folder is not built."""


@dataclass(frozen=True)
class WhisperOptions:
    """How the model decodes. Chosen on the dev half of eval/voice_questions.yaml (`python -m
    bot.voice.bench --tune`): beam 5 over greedy (greedy falls into repetition loops: WER 0.96 vs 0.76,
    search hit@3 0.58 vs 0.71); VAD changed nothing on these clips; a domain prompt made it worse."""
    beam_size: int = 5
    vad_filter: bool = False
    initial_prompt: str | None = None
    # One temperature: faster-whisper's fallback ladder (0.2 … 1.0) re-decodes up to 5 more times when
    # the output looks like a loop; on a 5.7 s espeak-ng question that took 14 s instead of 3 s.
    temperature: float = 0.0

    def kwargs(self) -> dict[str, Any]:
        return {"beam_size": self.beam_size, "vad_filter": self.vad_filter, "initial_prompt": self.initial_prompt,
                "temperature": self.temperature}


class SpeechModel(Protocol):
    """What we use of faster_whisper.WhisperModel."""

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]: ...


def extra_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("faster_whisper", "av"))


def voice_available(settings) -> bool:
    """TROLYAO_VOICE on, the extra installed and the model folder built by set-up."""
    folder = model_files.default_model_dir(settings)
    return bool(settings.voice) and extra_installed() and model_files.is_current(folder)


def load_whisper(folder: Path) -> SpeechModel:
    """faster-whisper on the CPU, int8, two threads (loaded and running: ~260 MB, `make bench` measures it)."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise VoiceUnavailable("the voice extra is not installed (set TROLYAO_VOICE=1 and run `make setup`)") from exc
    if not model_files.is_current(folder):
        raise VoiceUnavailable(f"the Whisper model is not built at {folder} (run `python -m bot.voice.model`)")
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2, num_workers=1)


def decode(audio: bytes, max_s: float) -> np.ndarray:
    """Mono 16 kHz float32 samples of any container PyAV reads; VoiceTooLong as soon as they pass
    ``max_s`` (or the container says so), VoiceUnreadable for anything else that goes wrong."""
    try:
        import av
    except ImportError as exc:
        raise VoiceUnavailable("the voice extra is not installed (PyAV missing)") from exc
    limit = int(max_s * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    count = 0
    try:
        with av.open(io.BytesIO(audio), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise VoiceUnreadable("no audio stream in the file")
            stream = container.streams.audio[0]
            if container.duration is not None and container.duration / av.time_base > max_s:
                raise VoiceTooLong(container.duration / av.time_base, max_s)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            # Frame by frame (None at the end flushes the resampler): decoding stops at the limit
            # rather than reading the whole file first.
            for frame in itertools.chain(container.decode(stream), [None]):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    chunks.append(samples)
                    count += samples.size
                if count > limit:
                    raise VoiceTooLong(count / SAMPLE_RATE, max_s)
    except VoiceError:
        raise
    except (av.FFmpegError, ValueError, EOFError, IndexError) as exc:
        raise VoiceUnreadable(f"cannot decode the audio: {exc}") from exc
    if count == 0:
        raise VoiceUnreadable("the file holds no audio samples")
    return np.concatenate(chunks).astype(np.float32) / 32768.0


class Transcriber:
    """One process's voice transcriber: the model loaded once on first use, one run at a time."""

    def __init__(self, model_dir: Path, *, max_s: float = 60.0, max_bytes: int = 5_000_000, queue: int = 4,
                 options: WhisperOptions = WhisperOptions(),
                 load_model: Callable[[Path], SpeechModel] = load_whisper):
        self.model_dir = Path(model_dir)
        self.max_s, self.max_bytes, self.queue = max_s, max_bytes, queue
        self.options = options
        self._load_model = load_model
        self._model: SpeechModel | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice")
        self._slots = threading.Lock()
        self._admitted = 0      # running + waiting

    @classmethod
    def from_settings(cls, settings, **overrides: Any) -> Transcriber:
        return cls(model_files.default_model_dir(settings), max_s=settings.voice_max_s,
                   max_bytes=settings.voice_max_bytes, queue=settings.voice_queue, **overrides)

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def busy(self) -> bool:
        """Every slot is taken now: the flow checks it before downloading a note, so a flood costs no
        downloads (``submit`` still decides, for a slot may be taken between the two)."""
        with self._slots:
            return self._admitted >= 1 + self.queue

    async def transcribe(self, audio: bytes) -> Transcript:
        return await self.submit(audio)

    def submit(self, audio: bytes) -> asyncio.Future[Transcript]:
        """Admit ``audio`` now (or raise VoiceTooLarge / VoiceUnreadable / VoiceBusy) and return the
        future of its transcript, on the running event loop."""
        if len(audio) > self.max_bytes:
            raise VoiceTooLarge(len(audio), self.max_bytes)
        if not audio:
            raise VoiceUnreadable("empty file")
        self._admit()
        job = self._worker.submit(self._run, audio)
        # The slot is freed when the job ends (or is cancelled before it starts), not when the caller
        # stops waiting: a caller that gives up must not let more jobs pile up than the queue allows.
        job.add_done_callback(lambda _: self._release())
        return asyncio.wrap_future(job)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _admit(self) -> None:
        with self._slots:
            if self._admitted >= 1 + self.queue:
                raise VoiceBusy(f"{self._admitted} voice notes are already being transcribed or waiting")
            self._admitted += 1

    def _release(self) -> None:
        with self._slots:
            self._admitted -= 1

    def _run(self, audio: bytes) -> Transcript:
        started = time.perf_counter()
        samples = decode(audio, self.max_s)
        decoding = time.perf_counter() - started
        model = self._loaded()      # the first run's loading is not counted as this note's compute
        started = time.perf_counter()
        segments, _info = model.transcribe(samples, language="vi", condition_on_previous_text=False,
                                           without_timestamps=True, **self.options.kwargs())
        text = " ".join(s.text.strip() for s in segments).strip()    # the generator decodes as it is read
        compute = decoding + time.perf_counter() - started
        if not text:
            raise VoiceUnreadable("no speech was recognised")
        return Transcript(text=text, duration_s=round(samples.size / SAMPLE_RATE, 3), compute_s=compute)

    def _loaded(self) -> SpeechModel:
        # Only the worker thread gets here, so loading needs no lock.
        if self._model is None:
            t0 = time.perf_counter()
            self._model = self._load_model(self.model_dir)
            log.info("loaded the Whisper model from %s in %.1fs", self.model_dir, time.perf_counter() - t0)
        return self._model
