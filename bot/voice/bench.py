"""``make bench``, voice part: how well Whisper base hears Vietnamese questions, how fast, and whether
the right document still comes up when a question arrives by voice.

The questions of eval/voice_questions.yaml are spoken by espeak-ng at two speeds, encoded as
Telegram's voice notes are (OGG/Opus), and go through the real Transcriber. Reported per half
(dev: options may be tuned on it; held-out: only measured) and per speed:
- word error rate (WER) against the spoken words, and again after folding diacritics;
- compute seconds per second of audio (real-time factor, RTF; decoding included);
- document hit@3 through the real retrieval on the set-up sample index, the question typed vs the
  transcript: the search's first three distinct documents (`Retrieval.search`), and the first three
  cited by the answer (`Retrieval.ask`, counted a miss when it abstains).
Also the model's load time and resident memory (a separate process: peak RSS less the imports').
``--tune`` runs a small grid of WhisperOptions on the dev half only.

    python -m bot.voice.bench [--json bench-results/voice.json] [--tune] [--index DIR]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from retrieval.settings import Settings
from retrieval.text import fold

from . import model as model_files
from .transcriber import Transcriber, WhisperOptions, extra_installed

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "eval" / "voice_questions.yaml"
SPEEDS = (130, 170)          # words per minute: slow and brisk (espeak-ng's default is 175)
CONTAINER = "ogg"            # Telegram's voice notes: Opus in OGG
SPLITS = ("dev", "heldout")
# The grid --tune tries on the dev half; "beam5" is what ships (WhisperOptions()).
PROMPT = "Câu hỏi về văn bản chỉ đạo của UBND tỉnh Lạng Sơn: kế hoạch, quyết định, công văn."
GRID = {
    "greedy": WhisperOptions(beam_size=1),
    "beam5": WhisperOptions(beam_size=5),
    "greedy+vad": WhisperOptions(beam_size=1, vad_filter=True),
    "greedy+prompt": WhisperOptions(beam_size=1, initial_prompt=PROMPT),
    "beam5+prompt": WhisperOptions(beam_size=5, initial_prompt=PROMPT),
}


@dataclass(frozen=True)
class VoiceQuestion:
    id: str
    question: str           # as spoken: espeak-ng's text and the WER reference
    typed: str              # as typed: the baseline of hit@3
    expected_docs: tuple[str, ...]

    @property
    def split(self) -> str:
        """Odd ids dev, even ids held-out: the rule the file states, fixed before measuring."""
        return "dev" if int(re.sub(r"\D", "", self.id)) % 2 else "heldout"


def load_questions(path: Path = QUESTIONS) -> list[VoiceQuestion]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for n, item in enumerate(items, 1):
        missing = [k for k in ("id", "question", "expected_docs") if not item.get(k)]
        if missing:
            raise SystemExit(f"{path}: item {n}: missing {', '.join(missing)}")
        out.append(VoiceQuestion(item["id"], item["question"], item.get("typed") or item["question"],
                                 tuple(item["expected_docs"])))
    if len({q.id for q in out}) != len(out):
        raise SystemExit(f"{path}: ids repeat")
    return out


# ---------------------------------------------------------------- word error rate


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation (NFC: Whisper and the file may compose differently)."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def wer(pairs: list[tuple[str, str]], folded: bool = False) -> float:
    """Corpus WER: word edits over reference words, summed over (reference, hypothesis) pairs."""
    prep = (lambda t: words(fold(t))) if folded else words
    edits = sum(edit_distance(prep(r), prep(h)) for r, h in pairs)
    return round(edits / max(1, sum(len(prep(r)) for r, _ in pairs)), 3)


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Heard:
    id: str
    speed: int
    text: str
    duration_s: float
    compute_s: float


def spoken_audio(questions: list[VoiceQuestion]) -> dict[tuple[str, int], bytes]:
    from .speech import reencode, speak

    return {(q.id, s): reencode(speak(q.question, speed=s), CONTAINER) for q in questions for s in SPEEDS}


def transcribe_all(transcriber: Transcriber, audio: dict[tuple[str, int], bytes]) -> list[Heard]:
    async def run() -> list[Heard]:
        heard = []
        for (qid, speed), data in audio.items():
            try:
                t = await transcriber.transcribe(data)
                heard.append(Heard(qid, speed, t.text, t.duration_s, t.compute_s))
            except Exception as exc:    # noqa: BLE001 - one unheard question is a result, not a crash
                heard.append(Heard(qid, speed, "", 0.0, 0.0))
                print(f"  {qid}@{speed}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return heard

    return asyncio.run(run())


class DocumentRanker:
    """Document hit@3 through the real retrieval, each distinct text asked once."""

    def __init__(self, retrieval):
        self.retrieval = retrieval
        self._search: dict[str, list[str]] = {}
        self._ask: dict[str, tuple[bool, list[str]]] = {}

    def searched(self, text: str) -> list[str]:
        if text not in self._search:
            hits = self.retrieval.search(text, k=20) if text.strip() else []
            self._search[text] = list(dict.fromkeys(h.passage.doc_number for h in hits if h.passage.doc_number))[:3]
        return self._search[text]

    def cited(self, text: str) -> list[str]:
        return self._answer(text)[1]

    def abstained(self, text: str) -> bool:
        return self._answer(text)[0]

    def _answer(self, text: str) -> tuple[bool, list[str]]:
        if text not in self._ask:
            answer = self.retrieval.ask(text) if text.strip() else None
            abstained = answer is None or answer.abstained
            docs = [] if abstained else [c.doc_number for c in answer.citations]
            self._ask[text] = (abstained, list(dict.fromkeys(d for d in docs if d))[:3])
        return self._ask[text]


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / max(1, len(flags)), 3)


def summarise(questions: list[VoiceQuestion], heard: list[Heard], ranker: DocumentRanker | None) -> dict:
    by_id = {q.id: q for q in questions}
    out: dict = {}
    for split in SPLITS:
        for speed in (*SPEEDS, "all"):
            rows = [h for h in heard if by_id[h.id].split == split and (speed == "all" or h.speed == speed)]
            if not rows:
                continue
            pairs = [(by_id[h.id].question, h.text) for h in rows]
            entry = {"n": len(rows), "wer": wer(pairs), "wer_folded": wer(pairs, folded=True),
                     "rtf": round(sum(h.compute_s for h in rows) / max(1e-9, sum(h.duration_s for h in rows)), 3),
                     "audio_s": round(sum(h.duration_s for h in rows), 1)}
            if ranker is not None:
                hit = lambda docs, q: any(d in q.expected_docs for d in docs)  # noqa: E731
                first = lambda docs, q: bool(docs) and docs[0] in q.expected_docs  # noqa: E731
                entry |= {
                    "hit1_search_typed": _rate([first(ranker.searched(by_id[h.id].typed), by_id[h.id]) for h in rows]),
                    "hit1_search_spoken": _rate([first(ranker.searched(h.text), by_id[h.id]) for h in rows]),
                    "hit3_search_typed": _rate([hit(ranker.searched(by_id[h.id].typed), by_id[h.id]) for h in rows]),
                    "hit3_search_spoken": _rate([hit(ranker.searched(h.text), by_id[h.id]) for h in rows]),
                    "hit3_ask_typed": _rate([hit(ranker.cited(by_id[h.id].typed), by_id[h.id]) for h in rows]),
                    "hit3_ask_spoken": _rate([hit(ranker.cited(h.text), by_id[h.id]) for h in rows]),
                    # The transcript without its diacritics (often wrong when the letters are right):
                    # the retrieval then weighs its fusion for unaccented queries (weights.json).
                    "hit3_search_spoken_folded": _rate([hit(ranker.searched(fold(h.text)), by_id[h.id]) for h in rows]),
                    "hit3_ask_spoken_folded": _rate([hit(ranker.cited(fold(h.text)), by_id[h.id]) for h in rows]),
                    "abstained_typed": _rate([ranker.abstained(by_id[h.id].typed) for h in rows]),
                    "abstained_spoken": _rate([ranker.abstained(h.text) for h in rows]),
                }
            out[f"{split}/{speed}"] = entry
    return out


def rss_probe(model_dir: Path, audio: bytes) -> dict:
    """Load time and resident memory of the model, in a fresh process (this one holds e5 and the index)."""
    with tempfile.NamedTemporaryFile(suffix=f".{CONTAINER}") as f:
        f.write(audio)
        f.flush()
        result = subprocess.run([sys.executable, "-m", "bot.voice.bench", "--rss-probe", str(model_dir), f.name],
                                capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec, so a child of this
    # (large) process would start at its parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _probe(model_dir: Path, audio_path: Path) -> None:
    import av  # noqa: F401  - counted in the baseline, like the module below
    import faster_whisper  # noqa: F401

    baseline = _peak_rss_mb()
    t0 = time.perf_counter()
    transcriber = Transcriber(model_dir)
    transcript = asyncio.run(transcriber.transcribe(audio_path.read_bytes()))
    first = time.perf_counter() - t0
    peak = _peak_rss_mb()
    print(json.dumps({"imports_rss_mb": round(baseline), "peak_rss_mb": round(peak),
                      "model_rss_mb": round(peak - baseline), "first_transcription_s": round(first, 2),
                      "of_which_loading_s": round(first - transcript.compute_s, 2),
                      "audio_s": transcript.duration_s}))


def print_summary(title: str, summary: dict) -> None:
    print(f"\n{title}")
    cols = {"n": "n", "wer": "WER", "wer_folded": "WER fold", "rtf": "RTF", "hit1_search_typed": "@1 typed",
            "hit1_search_spoken": "@1 heard", "hit3_search_typed": "srch typed",
            "hit3_search_spoken": "srch heard", "hit3_search_spoken_folded": "srch fold", "hit3_ask_typed": "ask typed",
            "hit3_ask_spoken": "ask heard", "hit3_ask_spoken_folded": "ask fold", "abstained_spoken": "abst heard"}
    print(f"  {'half/speed':<12}" + "".join(f"{c:>11}" for c in cols.values()))
    for key, entry in summary.items():
        print(f"  {key:<12}" + "".join(f"{entry.get(c, ''):>11}" for c in cols))
    print("  (hit@3 of the expected document: srch = Retrieval.search's first 3 documents, ask = the answer's "
          "first 3 citations; @1 = search's first document; typed / heard = the transcript / fold = the "
          "transcript without diacritics; abst = the answer abstained)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.voice.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "voice.json")
    parser.add_argument("--index", type=Path, default=None, help="the index to search (default: set-up's)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--tune", action="store_true", help="try WhisperOptions on the dev half only")
    parser.add_argument("--rss-probe", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        _probe(*args.rss_probe)
        return 0

    settings = Settings.load()
    model_dir = model_files.default_model_dir(settings)
    if not extra_installed() or not model_files.is_current(model_dir):
        print("voice: not installed (TROLYAO_VOICE=1 make setup installs it)")
        return 0
    if shutil.which("espeak-ng") is None:
        print("voice: espeak-ng not installed (scripts/test-deps.sh installs it when TROLYAO_VOICE=1)")
        return 0
    from retrieval.service import Retrieval

    questions = load_questions(args.questions)
    if args.tune:
        questions = [q for q in questions if q.split == "dev"]
    started = time.perf_counter()
    audio = spoken_audio(questions)
    print(f"voice: {len(questions)} questions × {len(SPEEDS)} speeds spoken by espeak-ng as {CONTAINER} "
          f"in {time.perf_counter() - started:.1f}s; load average {os.getloadavg()[0]:.2f}")
    ranker = DocumentRanker(Retrieval(args.index or settings.index_dir))
    options = GRID if args.tune else {"shipped": WhisperOptions()}
    results: dict = {"questions": len(questions), "speeds": list(SPEEDS), "container": CONTAINER, "runs": {}}
    for name, opts in options.items():
        transcriber = Transcriber(model_dir, options=opts)
        heard = transcribe_all(transcriber, audio)
        transcriber.close()
        summary = summarise(questions, heard, ranker)
        results["runs"][name] = {"options": asdict(opts), "summary": summary,
                                 "heard": [asdict(h) for h in heard]}
        print_summary(f"voice ({name}: {opts}); load average {os.getloadavg()[0]:.2f}", summary)
    if not args.tune:
        results["memory"] = rss_probe(model_dir, next(iter(audio.values())))
        print(f"\nvoice model (fresh process): {results['memory']}")
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out = args.json if not args.tune else args.json.with_name("voice-tuning.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"voice: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
