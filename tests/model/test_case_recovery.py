""""Not closed normally", defined by the open marker: a case whose session ended normally is
not offered back; one whose process was killed (SIGKILL, a real process) is, with its last
edit; one open in a live process is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ovcf_viewer.model.case import (
    Case,
    CaseSession,
    autosave_path,
    load_case,
    open_marker_path,
    unclosed_cases,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL, /proc")


def test_a_case_closed_normally_is_not_offered():
    session = CaseSession(Case("case-a"))
    assert open_marker_path("case-a").is_file()
    assert unclosed_cases() == []  # open here, in a live process
    session.update(procedure="PVP")
    session.end()
    assert not open_marker_path("case-a").exists()
    assert autosave_path("case-a").is_file()  # the autosave stays
    assert unclosed_cases() == []


def test_without_autosave_no_marker():
    session = CaseSession(Case("case-b"), autosave=False)
    assert not open_marker_path("case-b").exists()
    session.end()


def _editing_process(case_id: str) -> subprocess.Popen:
    script = textwrap.dedent(f"""
        from ovcf_viewer.model.case import Case, CaseSession
        session = CaseSession(Case({case_id!r}))
        session.update(procedure="PKP", treated_levels=("L1",))
        print("edited", flush=True)
        import time
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "edited"
    return proc


def test_a_killed_process_leaves_its_case_offered_with_the_edit():
    proc = _editing_process("case-killed")
    try:
        assert unclosed_cases() == []  # still running: open elsewhere, not offered
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert unclosed_cases() == [autosave_path("case-killed")]
    case = load_case(unclosed_cases()[0])
    assert case.procedure == "PKP" and case.treated_levels == ("L1",)
    # Opened again and closed normally: no longer offered.
    session = CaseSession(case)
    assert unclosed_cases() == []
    session.end()
    assert unclosed_cases() == []


def test_an_unreadable_marker_counts_as_not_closed_normally():
    CaseSession(Case("case-c"))  # never ended
    open_marker_path("case-c").write_text("{not json")
    assert unclosed_cases() == [autosave_path("case-c")]
