"""The scale-out launcher's supervision (bot/run.py), over real short-lived processes: a process that
dies is started again; one that keeps dying is a crash loop, reported, and ends the launch; without
a restart policy (`make run`), the first death ends it."""
from __future__ import annotations

import io
from contextlib import redirect_stderr

from bot.processes import Service, rasa_server
from bot.run import Restarts, supervise


def shell(name: str, script: str) -> Service:
    return Service(name, ["sh", "-c", script], health_url="http://127.0.0.1:9/unused").start()


def test_a_process_that_died_is_started_again(tmp_path):
    marker = tmp_path / "ran-once"
    # Dies on its first run, lives on its second: as a worker killed once.
    worker = shell("rasa-2", f"if [ -e {marker} ]; then exec sleep 60; else touch {marker}; exit 9; fi")
    log = io.StringIO()
    try:
        with redirect_stderr(log):
            code = supervise([worker], stopping=lambda: bool(marker.exists() and worker.running
                                                             and "died" in log.getvalue()), restarts=Restarts())
    finally:
        worker.stop()
    assert code == 0 and worker.process.returncode is not None    # stopped by us, after it ran again
    assert "rasa-2 died (exit code 9); restarting it" in log.getvalue()


def test_a_crash_loop_is_reported_and_ends_the_launch():
    crashing = shell("actions-1", "exit 3")
    log = io.StringIO()
    with redirect_stderr(log):
        code = supervise([crashing], stopping=lambda: False, restarts=Restarts(limit=2, window_s=60))
    assert code == 1
    assert log.getvalue().count("actions-1 died (exit code 3); restarting it") == 2
    assert "actions-1 stopped unexpectedly (exit code 3) (3 times within 60 s: not restarted again)" in log.getvalue()


def test_without_restarts_the_first_death_ends_the_launch():
    crashing = shell("actions", "exit 4")
    log = io.StringIO()
    with redirect_stderr(log):
        assert supervise([crashing], stopping=lambda: False) == 1
    assert "actions stopped unexpectedly (exit code 4); stopping the others." in log.getvalue()
    assert "restarting" not in log.getvalue()


def test_the_files_generated_for_a_process_go_when_it_is_stopped(tmp_path):
    rasa = rasa_server(5005, "model.tar.gz", 5055, conversations=tmp_path / "conversations.sqlite3")
    endpoints = rasa.argv[rasa.argv.index("--endpoints") + 1]
    assert "tracker_store" in open(endpoints).read()
    rasa.stop()          # never started: its folder goes all the same (it may hold passwords)
    assert rasa.scratch is not None and not rasa.scratch.exists()
