"""Fixtures: the fake provider and redis-server as processes, the `budgetllm` command."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _binary(env_name: str, file_name: str) -> str:
    """The binary named by `env_name`, else the workspace's debug build of it."""
    path = os.environ.get(env_name) or str(REPO_ROOT / "target" / "debug" / file_name)
    if not Path(path).is_file():
        pytest.fail(
            f"{path} does not exist: set {env_name}, or build it with "
            "`cargo build -p budgetllm-cli -p budgetllm-test-support --bins`"
        )
    return path


class FakeProvider:
    """The `fake-provider` binary: an OpenAI/Anthropic-shaped HTTP server on loopback."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [_binary("FAKE_PROVIDER_BIN", "fake-provider"), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        urls = json.loads(self._read_line())
        self.openai_base_url: str = urls["openai_base_url"]
        self.anthropic_base_url: str = urls["anthropic_base_url"]

    def _read_line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("fake-provider exited without answering")
        return line

    def _command(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._read_line()

    def requests(self) -> List[Dict[str, Any]]:
        """Every request received so far: `{"method", "path", "body"}`."""
        return json.loads(self._command("requests"))

    def requests_with(self, content: str) -> List[Dict[str, Any]]:
        """The requests whose last message has this content."""
        return [
            r for r in self.requests() if r["body"]["messages"][-1].get("content") == content
        ]

    def fail_next(self, status: int, body: Dict[str, Any]) -> None:
        """The next request is answered with `status` and `body`."""
        assert self._command(f"error {status} {json.dumps(body)}").strip() == "ok"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def slow_provider() -> Iterator[FakeProvider]:
    """A fake provider whose every answer takes 100 ms."""
    fake = FakeProvider("--delay-ms", "100")
    yield fake
    fake.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture()
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A fresh redis-server on a free loopback port, persistence off; stopped after the test."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: `apt-get install redis-server redis-tools`")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"redis-server did not start on port {port}")
        time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def budgetllm_bin() -> str:
    """The `budgetllm` command-line tool (a Rust process)."""
    return _binary("BUDGETLLM_BIN", "budgetllm")


@pytest.fixture()
def python() -> str:
    return sys.executable
