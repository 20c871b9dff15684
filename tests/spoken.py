"""Spoken Vietnamese for the voice tests, made at test time: espeak-ng says the text (WAV), PyAV encodes
it in the container each channel delivers: OGG/Opus (Telegram voice notes), M4A/AAC (Zalo voice
messages), MP4/AAC (Messenger audio attachments). No audio file is kept in the repository."""
from __future__ import annotations

import io
import shutil
import subprocess

# container → (PyAV format, codec, sample rate)
FORMATS = {"ogg": ("ogg", "libopus", 48_000), "m4a": ("ipod", "aac", 44_100), "mp4": ("mp4", "aac", 44_100)}


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, container: str, words_per_minute: int = 150) -> bytes:
    """``text`` read by espeak-ng's Vietnamese voice, encoded as ``container`` (a key of FORMATS)."""
    wav = subprocess.run(["espeak-ng", "-v", "vi", "-s", str(words_per_minute), "--stdout", text],
                         capture_output=True, check=True, timeout=60).stdout
    return encode(wav, container)


def encode(wav: bytes, container: str) -> bytes:
    import av

    form, codec, rate = FORMATS[container]
    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out, "w", format=form) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=rate)
        for frame in [*source.decode(audio=0), None]:      # None flushes the resampler
            for resampled in resampler.resample(frame):
                target.mux(stream.encode(resampled))
        target.mux(stream.encode(None))
    return out.getvalue()
