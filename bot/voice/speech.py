"""Synthetic voice notes for the tests and the benchmark: espeak-ng speaks, PyAV re-encodes.

espeak-ng's Vietnamese voice is robotic (formant synthesis), so it measures the pipeline and a
lower bound of what Whisper hears, not a citizen's phone. Re-encoding gives the containers the
channels deliver: Telegram's OGG/Opus voice notes, Zalo's AAC in MP4 (m4a), MP3.
"""
from __future__ import annotations

import io
import shutil
import subprocess

# container format → (audio codec, sample rate): what each channel sends.
CONTAINERS = {
    "ogg": ("libopus", 48_000),     # Telegram voice notes, Messenger on Android
    "mp4": ("aac", 44_100),         # Zalo voice messages (m4a), Messenger on iOS
    "mp3": ("libmp3lame", 44_100),
    "wav": ("pcm_s16le", 22_050),
}


class SpeechUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def speak(text: str, speed: int = 150, voice: str = "vi") -> bytes:
    """WAV bytes of espeak-ng saying ``text`` (``speed`` in words per minute; 175 is its default)."""
    if shutil.which("espeak-ng") is None:
        raise SpeechUnavailable("espeak-ng is not installed (apt-get install espeak-ng; scripts/test-deps.sh does)")
    result = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                            capture_output=True, check=True)
    return result.stdout


def reencode(audio: bytes, container: str) -> bytes:
    """``audio`` (any format PyAV reads) as a mono file of ``container`` (a key of CONTAINERS)."""
    import av

    codec, rate = CONTAINERS[container]
    out = io.BytesIO()
    with av.open(io.BytesIO(audio)) as src, av.open(out, mode="w", format=container) as dst:
        stream = dst.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in src.decode(audio=0):
            frame.pts = None
            for part in resampler.resample(frame):
                dst.mux(stream.encode(part))
        for part in resampler.resample(None):
            dst.mux(stream.encode(part))
        dst.mux(stream.encode(None))
    return out.getvalue()
