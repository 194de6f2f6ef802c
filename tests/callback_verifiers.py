"""The partner-side verifiers that the docs ship (docs/verify/), driven from the tests: the Python
one loaded from its file as a partner would copy it, the JavaScript one in one `node` process
that answers whole batches of cases (JSON lines on stdin and stdout)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERIFY = ROOT / "docs" / "verify"
PY_VERIFIER = VERIFY / "verify_callback.py"
JS_VERIFIER = VERIFY / "verify_callback.js"
JS_DRIVER = Path(__file__).with_name("verify_callback_batch.js")


def load_python_verifier() -> ModuleType:
    name = "docs_verify_callback"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PY_VERIFIER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


py = load_python_verifier()


@dataclasses.dataclass(frozen=True)
class Case:
    """One callback URL and what its partner expects."""

    url: str
    signing_secret: str
    issuer: str
    state: str | None
    now: float
    tolerance: float = 300


def verify_in_python(case: Case) -> dict[str, Any]:
    """docs/verify/verify_callback.py's verdict, in the shape the JavaScript driver answers."""
    try:
        answer = py.verify_callback(
            case.url,
            signing_secret=case.signing_secret,
            issuer=case.issuer,
            state=case.state,
            tolerance=case.tolerance,
            now=case.now,
        )
    except py.CallbackError as error:
        return {"ok": False, "reason": str(error)}
    return {"ok": True, "answer": dataclasses.asdict(answer)}


class NodeVerifier:
    """docs/verify/verify_callback.js in one long-lived node process."""

    def __init__(self) -> None:
        node = shutil.which("node")
        assert node, "node (>= 18) is needed to test the JavaScript verifier the docs ship"
        self.process = subprocess.Popen(  # noqa: S603 (a fixed program and script of this repo)
            [node, str(JS_DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def verify(self, cases: list[Case]) -> list[dict[str, Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([dataclasses.asdict(c) for c in cases]) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"node exited with {self.process.wait()}"
        results: list[dict[str, Any]] = json.loads(line)
        crashes = [result["crash"] for result in results if "crash" in result]
        assert not crashes, crashes
        return results

    def close(self) -> None:
        """End of input ends the script; it must then exit cleanly."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        returncode = self.process.wait(timeout=10)
        self.process.stdout.close()
        assert returncode == 0


def verdicts(results: list[dict[str, Any]]) -> list[bool]:
    return [result["ok"] for result in results]
