"""A real Label Studio server for tests: `start_label_studio()` and the session fixture `label_studio`.

Checked against label-studio 1.23.2 (label-studio-sdk 2.1.2). The server is started as
`label-studio start --no-browser --port P --internal-host 127.0.0.1` (the executable beside
`sys.executable`) in its own process group, with a fresh data folder, an admin user whose legacy
API token is fixed in advance, and every outgoing call it would make on its own switched off
(version check, analytics, Sentry). Its stdout and stderr go to `<data_dir>/label-studio.log`.

Use it in a test module with

    from label_studio_server import label_studio  # noqa: F401  (registers the fixture)

    @pytest.mark.integration  # starting the server takes 30-90 s on a fresh folder
    def test_something(label_studio):
        from label_studio_sdk import LabelStudio
        ls = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
        ...

or, outside pytest, `with start_label_studio(tmp_dir) as server: ...`. A fresh data folder takes
about a minute to be ready (the database migrations); a restart on the same folder a few seconds.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["LabelStudioServer", "LabelStudioStartError", "free_port", "label_studio", "start_label_studio"]

USERNAME = "ner-test@localhost"  # Label Studio's users are e-mail addresses
PASSWORD = "ner-test-password"
TOKEN = "antq-ner-test-token-0123456789"  # 6 to 40 characters; used as a legacy "Token ..." key
LOG_NAME = "label-studio.log"

# Prefixes under which Label Studio reads its settings (`X` is read as LABEL_STUDIO_X, HEARTEX_X, X):
# inherited ones are dropped so that the server sees only what is set here.
_INHERITED_PREFIXES = ("LABEL_STUDIO_", "HEARTEX_", "DJANGO_")


class LabelStudioStartError(RuntimeError):
    """The server did not come up as asked; the message ends with the tail of its log."""


def label_studio_executable() -> Path:
    """The `label-studio` script installed beside the running interpreter."""
    name = "label-studio.exe" if os.name == "nt" else "label-studio"
    return Path(sys.executable).parent / name


def free_port(host: str = "127.0.0.1") -> int:
    """A port the system reports as free (bound to port 0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on the port and it can be bound (Label Studio itself probes by connecting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        if s.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def server_environment(data_dir: Path, token: str = TOKEN) -> dict[str, str]:
    """The environment the server runs with; each entry is needed for the reason beside it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        {
            # sqlite database, media, exports: all under the test's folder.
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            # An admin user created at start, with this token as its API key.
            "LABEL_STUDIO_USERNAME": USERNAME,
            "LABEL_STUDIO_PASSWORD": PASSWORD,
            "LABEL_STUDIO_USER_TOKEN": token,
            # Since 1.17 the `Authorization: Token <key>` header gets 401 unless the organisation allows
            # legacy tokens; the flag is stored on the organisation when the first start creates it.
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            # The server may call an ML backend on 127.0.0.1. Two separate guards refuse local addresses:
            # ML_BLOCK_LOCAL_IP for the backend's URL (checked by POST /api/ml, and each call to it), and
            # SSRF_PROTECTION_ENABLED for webhooks, which includes the `<backend>/webhook` that adding
            # a backend creates (POST /api/ml answers 403 "URL resolves to a reserved network address").
            "LABEL_STUDIO_ML_BLOCK_LOCAL_IP": "false",
            "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
            # Nothing leaves the machine: no version check on the package index, no analytics, no Sentry.
            "LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
            "LABEL_STUDIO_SENTRY_DSN": "",
            "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
            "LABEL_STUDIO_FEATURE_FLAGS_OFFLINE": "true",
            # Log lines reach the file as they are written (the start-up checks read them).
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _get_json(url: str, token: str | None = None, timeout: float = 5.0):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read().decode("utf-8") or "null")


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to the process group, wait, SIGKILL if still there."""
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=timeout)
    # The group may hold children that outlive the leader: make sure none is left.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class LabelStudioServer:
    """A running server. `url` is `http://127.0.0.1:<port>`; `token` is the admin's API key."""

    url: str
    token: str
    process: subprocess.Popen
    log_path: Path
    data_dir: Path
    port: int
    username: str = USERNAME
    password: str = PASSWORD
    startup_seconds: float = field(default=0.0)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a REST call with the admin's token."""
        return {"Authorization": f"Token {self.token}"}

    def client(self):
        """A `label_studio_sdk.LabelStudio` client for this server."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.token)

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 20.0) -> None:
        _stop_process(self.process, timeout)
        handle = getattr(self, "_log_handle", None)
        if handle is not None and not handle.closed:
            handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_label_studio(
    data_dir: Path,
    port: int | None = None,
    timeout: float = 180,
    token: str = TOKEN,
) -> LabelStudioServer:
    """Start Label Studio on 127.0.0.1:`port` (a free one when None) with `data_dir` as its data folder.

    Returns once `GET /health` on that very port answers `{"status": "UP"}` and the token is accepted.
    Raises `LabelStudioStartError` (with the tail of the server's log) when the port is busy, when the
    server exits or takes another port, or after `timeout` seconds; the process is stopped then.
    """
    if not 6 <= len(token) <= 40:
        raise ValueError("Label Studio applies a user token of 6 to 40 characters only")
    executable = label_studio_executable()
    if not executable.exists():
        raise FileNotFoundError(f"label-studio is not installed beside {sys.executable}")
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if port is None:
        port = free_port()
    if not port_is_free(port):
        # Label Studio would silently move to the next free port; refuse instead.
        raise LabelStudioStartError(f"port {port} on 127.0.0.1 is busy")

    log_path = data_dir / LOG_NAME
    log_handle = open(log_path, "ab")  # noqa: SIM115 (closed by stop())
    command = [
        str(executable),
        "start",
        "--no-browser",
        "--port",
        str(port),
        "--internal-host",
        "127.0.0.1",
    ]
    log_handle.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
    log_handle.flush()
    log_offset = log_path.stat().st_size
    started = time.monotonic()
    env = server_environment(data_dir, token)
    process = subprocess.Popen(
        command,
        cwd=data_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as a whole
    )
    url = f"http://127.0.0.1:{port}"
    server = LabelStudioServer(
        url=url, token=token, process=process, log_path=log_path, data_dir=data_dir, port=port
    )
    server._log_handle = log_handle  # type: ignore[attr-defined]
    atexit.register(server.stop)  # no server outlives the interpreter that started it

    def this_run_log() -> str:
        with open(log_path, "rb") as f:
            f.seek(log_offset)
            return f.read().decode("utf-8", errors="replace")

    def fail(reason: str) -> LabelStudioStartError:
        server.stop()
        tail = "\n".join(this_run_log().splitlines()[-60:])
        return LabelStudioStartError(f"{reason}\n--- last lines of {log_path} ---\n{tail}")

    deadline = started + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise fail(f"label-studio exited with code {code} before it was ready")
        log = this_run_log()
        if f"Port {port} is in use" in log:
            raise fail(f"port {port} was taken before label-studio bound it; it moved to another port")
        try:
            status, body = _get_json(f"{url}/health", timeout=3)
            if status == 200 and isinstance(body, dict) and body.get("status") == "UP":
                break
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise fail(f"label-studio did not answer /health on port {port} within {timeout:.0f} s")
        time.sleep(0.5)

    # The answer must come from our process: it says where it listens, and accepts our token.
    log = this_run_log()
    if f"Starting development server at http://127.0.0.1:{port}/" not in log:
        raise fail(f"/health answered on port {port}, but the server's log does not say it listens there")
    try:
        _get_json(f"{url}/api/current-user/whoami", token=token, timeout=10)
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", errors="replace")[:500]
        raise fail(f"the server is up but refuses the token (HTTP {e.code}: {detail})") from None
    server.startup_seconds = time.monotonic() - started
    return server


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> Iterator[LabelStudioServer]:
    """One Label Studio server for the whole session, on a fresh data folder (about a minute to start)."""
    if not label_studio_executable().exists():
        pytest.fail(f"{label_studio_executable()} is missing: scripts/setup.sh installs Label Studio (the dev extra)")
    server = start_label_studio(tmp_path_factory.mktemp("label-studio"))
    try:
        yield server
    finally:
        server.stop()
