"""The integration guide's quickstart runs as written: its shell blocks, in order, in one bash,
against a live hub (`onboarding serve`) and a stand-in app, each on a free port.

What the test does instead of the reader, and why:
- block 1 (`git clone`, `make install`): the working folder gets this checkout's `.venv` and
  `docs/` (symlinks): no network, and no second install on a shared machine;
- step 5 (the client in a browser): plain HTTP with a cookie jar, reading each form's CSRF and
  flow token as the browser would, since a shell cannot click;
- ONBOARDING_INSTANCE_PATH points at the working folder, so the hub's SQLite database and
  secret key are the test's own, not this checkout's instance/.
Everything else, from `init-db` to the messaging call, is the guide's text.
"""

from __future__ import annotations

import contextlib
import html
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.mailbox import free_port

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "integration-guide.md"
DONE = "__quickstart_block_done__"
NUMBER = "+4915112345678"
BLOCK_TIMEOUT = 60
BASH = shutil.which("bash") or "/bin/bash"
# seconds; only a hang gets near it


def quickstart_blocks() -> list[str]:
    text = GUIDE.read_text()
    section = text.split("\n## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)


class Terminal:
    """One bash reading commands from a pipe, as a terminal the reader pastes into."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (our own bash, fed the guide's blocks)
            [BASH, "--norc", "--noprofile"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its background servers share its process group
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def run(self, block: str) -> list[str]:
        """Paste a block; the lines it printed, once it is done."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{block}\necho {DONE}\n")
        self.process.stdin.flush()
        printed: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=BLOCK_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no end of block after {BLOCK_TIMEOUT} s:\n{block}\n{printed}")
            if line.endswith(DONE):  # after output with no newline of its own, on its line
                return [*printed, line.removesuffix(DONE)] if line != DONE else printed
            printed.append(line)

    def close(self) -> None:
        """End bash and whatever it left running, even after a failure."""
        with contextlib.suppress(ProcessLookupError):  # it ended already
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)  # the pipe ends once every process holding it has
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_")}
    env |= {
        "PORT": str(free_port()),
        "APP_PORT": str(free_port()),
        "ONBOARDING_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    shell = Terminal(tmp_path, env)
    yield shell
    shell.close()


def form_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1))


def be_the_client(link: str) -> str:
    """Step 5, over HTTP: sign up through the link, add a number, Allow. Returns the callback
    URL the browser was sent to (the stand-in app answered it, and logged it)."""
    with requests.Session() as browser:
        return _sign_up_and_allow(browser, link)


def _sign_up_and_allow(browser: requests.Session, link: str) -> str:
    signup = browser.get(link, timeout=30)
    assert urlsplit(signup.url).path == "/signup", signup.url
    flow = form_value(signup.text, "flow")
    numbers = browser.post(
        urlsplit(signup.url)._replace(query="").geturl(),
        data={
            "csrf_token": form_value(signup.text, "csrf_token"),
            "flow": flow,
            "company": "Quickstart Bakery",
            "email": "owner@quickstart-bakery.example",
            "password": "a long enough quickstart password",
        },
        timeout=30,
    )
    assert urlsplit(numbers.url).path == "/signup/numbers", numbers.url
    # "type +4915112345678, press Continue": Continue adds the typed number, then moves on.
    consent = browser.post(
        urlsplit(numbers.url)._replace(query="").geturl(),
        data={
            "csrf_token": form_value(numbers.text, "csrf_token"),
            "flow": flow,
            "phone": NUMBER,
            "action": "continue",
        },
        timeout=30,
    )
    assert urlsplit(consent.url).path == "/permission/consent", consent.url
    hub = f"{urlsplit(link).scheme}://{urlsplit(link).netloc}"
    channels = re.findall(r'name="channels" value="([^"]+)"', consent.text)
    assert len(channels) == 1
    answered = browser.post(
        f"{hub}/permission/consent",
        data={
            "csrf_token": form_value(consent.text, "csrf_token"),
            "flow": form_value(consent.text, "flow"),
            "channels": channels,
            "action": "allow",
        },
        timeout=30,
    )
    # The stand-in is a file server on an empty folder: "File not found", as the guide says.
    assert answered.status_code == 404
    assert answered.history[-1].status_code == 303
    return answered.url


def test_the_quickstart_runs_as_written(terminal: Terminal) -> None:
    blocks = quickstart_blocks()
    assert len(blocks) == 7, "the guide's steps and this test disagree"
    get_the_hub, partner, start, link, verify, key, stop = blocks
    assert "git clone" in get_the_hub and "make install" in get_the_hub
    # The `make install` it replaces: the Makefile has the target.
    assert re.search(r"^install: ", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)

    terminal.run(partner)
    [hub] = terminal.run('echo "$HUB"')
    assert terminal.run("echo $PARTNER_ID $API_KEY")[0].startswith("pa_")
    terminal.run(start)
    assert terminal.run('curl -s -o /dev/null -w "%{http_code}" "$HUB/readyz"') == ["200"]

    [printed_link] = terminal.run(link)
    assert printed_link.startswith(f"{hub}/partners/")  # on the port served, not 5000
    [state] = terminal.run('echo "$STATE"')
    callback = be_the_client(printed_link)
    query = parse_qs(urlsplit(callback).query)
    assert query["iss"] == [hub] and query["state"] == [state]

    verified = terminal.run(verify)
    assert verified[-1] == f"verified: {query['channels'][0][1:-1]} is shared with you"

    answer = terminal.run(key)
    assert answer[-1].startswith('{"channel_id":'), answer
    assert f'"phone_number":"{NUMBER}"' in answer[-1].replace(" ", "")

    terminal.run(stop)
    terminal.run("wait")  # both servers have ended
    assert terminal.run("jobs -r") == []
