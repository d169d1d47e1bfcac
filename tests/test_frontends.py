"""``tk.grade()`` finds the notebook that is open, against a real ``jupyter server`` on 127.0.0.1.

The server is driven through its REST API as JupyterLab drives it: a session opens a notebook,
File > Rename renames the file and moves the session, Save As writes a new file and moves the
session, and a kernel can also be started with no session or no name. Code runs in each kernel
through its connection file (``jupyter_client``), and prints what ``open_notebook`` found.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.helpers import subprocess_env
from tests.test_grading import submit, tiny_key

pytest.importorskip("jupyter_server")
pytest.importorskip("ipynbname")

FIND = """
from toolkit.course.frontends import open_notebook
try:
    print("FOUND", open_notebook())
except Exception as error:
    print("ERROR", error)
"""


class Server:
    """A ``jupyter server`` process on 127.0.0.1 with its own runtime folder, and its REST API."""

    def __init__(self, root: Path, runtime: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.root, self.runtime, self.token = root, runtime, secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{port}"
        self.env = subprocess_env(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(runtime / "config"),
                                  JUPYTER_PLATFORM_DIRS="1")
        self.log = open(runtime / "server.log", "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
             "--ServerApp.allow_root=True", f"--IdentityProvider.token={self.token}"],
            env=self.env, cwd=root, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.call("GET", "api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError((runtime / "server.log").read_text()[-2000:]) from None
                time.sleep(0.3)

    def call(self, method: str, path: str, body: dict | None = None):
        """One REST call; returns the decoded JSON reply (or None)."""
        request = urllib.request.Request(f"{self.url}/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def run(self, kernel_id: str, code: str) -> str:
        """Run ``code`` in a kernel of this server; returns what it printed."""
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.runtime / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        printed: list[str] = []
        try:
            client.wait_for_ready(timeout=120)
            client.execute_interactive(code, timeout=300, output_hook=lambda message: printed.append(
                message["content"].get("text", "") if message["msg_type"] == "stream" else ""))
        finally:
            client.stop_channels()
        return "".join(printed)

    def stop(self) -> None:
        """Stop the server and its kernels."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    root, runtime = tmp_path / "root", tmp_path / "runtime"
    (root / "learner").mkdir(parents=True)
    runtime.mkdir()
    running = Server(root, runtime)
    yield running
    running.stop()


def _open(server: Server, path: str, name: str | None) -> dict:
    body = {"path": path, "type": "notebook", "kernel": {"name": "python3"}}
    if name is not None:
        body["name"] = name
    return server.call("POST", "api/sessions", body)


def _found(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(("FOUND", "ERROR")))


@pytest.mark.slow
def test_grade_follows_the_open_notebook_through_rename_and_save_as(server, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    nbformat.write(tiny_key(), str(keys / "99_tiny.ipynb"))
    submit(server.root / "learner" / "lesson.ipynb", first='raise NotImplementedError("not yet")')
    session = _open(server, "learner/lesson.ipynb", "lesson.ipynb")
    kernel = session["kernel"]["id"]
    assert _found(server.run(kernel, FIND)) == f"FOUND {server.root / 'learner' / 'lesson.ipynb'}"

    # File > Rename: the file moves, and JupyterLab moves the session with it.
    server.call("PATCH", "api/contents/learner/lesson.ipynb", {"path": "learner/renamed.ipynb"})
    server.call("PATCH", f"api/sessions/{session['id']}", {"path": "learner/renamed.ipynb", "name": "renamed.ipynb"})
    output = server.run(kernel, FIND + "import os\nprint('SESSION_NAME', os.environ['JPY_SESSION_NAME'])")
    assert _found(output) == f"FOUND {server.root / 'learner' / 'renamed.ipynb'}"
    assert "SESSION_NAME" in output and "lesson.ipynb" in output  # what the kernel was started with: stale

    # Save As my_answers.ipynb: a new file with the answers, the session moves to it, the old file stays.
    answers = submit(tmp_path / "answers.ipynb")
    server.call("PUT", "api/contents/learner/my_answers.ipynb",
                {"type": "notebook", "format": "json", "content": json.loads(answers.read_text())})
    server.call("PATCH", f"api/sessions/{session['id']}",
                {"path": "learner/my_answers.ipynb", "name": "my_answers.ipynb"})
    graded = server.run(kernel, f"""
from pathlib import Path
from toolkit.course import submission
submission.key_dir = lambda: Path({str(keys)!r})
import toolkit as tk
verdict = tk.grade()
print("GRADED", verdict.submission, verdict.exercises)
""")
    assert "GRADED my_answers.ipynb {'1': True, '2': True}" in graded, graded
    assert (server.root / "learner" / "renamed.ipynb").is_file()  # the previous file, with no answers


@pytest.mark.slow
def test_kernels_without_a_name_or_a_session(server):
    submit(server.root / "learner" / "unnamed.ipynb")
    session = _open(server, "learner/unnamed.ipynb", "")  # name="": JPY_SESSION_NAME is the folder
    assert _found(server.run(session["kernel"]["id"], FIND)) == f"FOUND {server.root / 'learner' / 'unnamed.ipynb'}"

    # A kernel no session knows: nobody can tell, and the advice is a path that works from its folder.
    kernel = server.call("POST", "api/kernels", {"name": "python3", "path": "learner"})
    output = server.run(kernel["id"], FIND + "import os\nprint('CWD', os.getcwd())")
    error = _found(output)
    assert error.startswith("ERROR Cannot tell which notebook is open here") and 'tk.grade("' in error
    suggested = error.split('tk.grade("')[1].split('")')[0]
    cwd = next(line for line in output.splitlines() if line.startswith("CWD ")).removeprefix("CWD ")
    assert (Path(cwd) / suggested).is_file(), error


def test_the_server_sessions_api_comes_before_the_stale_session_name(monkeypatch, tmp_path):
    from toolkit.course import frontends

    current, stale = tmp_path / "current.ipynb", tmp_path / "stale.ipynb"
    for path in (current, stale):
        path.write_text("{}")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(stale))
    monkeypatch.setattr(frontends, "_server_notebook", lambda: current)
    assert frontends.open_notebook() == current
    monkeypatch.setattr(frontends, "_server_notebook", lambda: tmp_path / "unsaved.ipynb")
    with pytest.raises(frontends.SubmissionError, match="save the notebook"):
        frontends.open_notebook()
    monkeypatch.setattr(frontends, "_server_notebook", lambda: None)
    assert frontends.open_notebook() == stale

