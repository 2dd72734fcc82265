"""The dev SMTP sink stores each message atomically as an .eml file and never logs its content."""

from __future__ import annotations

import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from tas_dev.devsmtp import DevSmtpSink, read_messages, wait_for_messages
from tas_dev.testing import free_port, wait_for_port


def message(subject: str, to: str = "parent@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "tas@example.org"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("The plan review is on Tuesday.")
    return msg


def send(port: int, msg: EmailMessage, **kwargs: object) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg, **kwargs)  # type: ignore[arg-type]


def test_a_sent_message_is_stored_as_an_eml_with_subject_and_recipients(tmp_path: Path):
    maildir = tmp_path / "mail"
    with DevSmtpSink(maildir, port=free_port()) as sink:
        send(sink.port, message("Review booked"), to_addrs=["parent@example.org", "carer@example.org"])
        assert sink.count == 1
    files = list(maildir.iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml", "no temporary file is left behind"
    [stored] = read_messages(maildir)
    assert stored["Subject"] == "Review booked"
    assert stored["To"] == "parent@example.org"
    assert stored["X-Envelope-To"] == "parent@example.org, carer@example.org"
    assert stored.get_content().strip() == "The plan review is on Tuesday."


async def test_non_ascii_survives_and_messages_come_back_oldest_first(tmp_path: Path):
    maildir = tmp_path / "mail"
    with DevSmtpSink(maildir, port=free_port()) as sink:
        send(sink.port, message("Adolygiad y cynllun – dydd Mawrth"))
        send(sink.port, message("Przegląd planu"))
        stored = await wait_for_messages(maildir, count=2, timeout=5)
    assert [m["Subject"] for m in stored] == ["Adolygiad y cynllun – dydd Mawrth", "Przegląd planu"]


async def test_wait_for_messages_times_out(tmp_path: Path):
    with pytest.raises(TimeoutError):
        await wait_for_messages(tmp_path, count=1, timeout=0.2)


def test_the_module_runs_as_a_process_stores_mail_and_exits_cleanly_on_sigterm(tmp_path: Path):
    port = free_port()
    log_path = tmp_path / "smtp.log"
    with open(log_path, "wb") as log:
        argv = [sys.executable, "-m", "tas_dev.devsmtp", "--port", str(port), "--maildir", str(tmp_path / "mail")]
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        send(port, message("Confidential subject", to="family.member@example.org"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [m["Subject"] for m in read_messages(tmp_path / "mail")] == ["Confidential subject"]
    log = log_path.read_text()
    assert '"count": 1' in log
    assert "Confidential" not in log and "family.member" not in log
