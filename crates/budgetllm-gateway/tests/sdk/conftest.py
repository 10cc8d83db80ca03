"""Fixtures for the OpenAI SDK tests: the fake provider and `budgetllm serve` as processes.

The test programs come from the environment: BUDGETLLM_BIN (the `budgetllm` binary) and
FAKE_PROVIDER_BIN (the test support's `fake-provider`).
"""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

MASTER_KEY = "sdk-test-master-key-0123456789"


def _program(variable):
    path = os.environ.get(variable)
    if not path or not os.path.exists(path):
        pytest.fail(f"{variable} must name a built test program (got {path!r}); run `cargo xtask ci`")
    return path


@pytest.fixture(scope="session")
def fake_provider():
    """The fake OpenAI-compatible provider; its base URLs."""
    process = subprocess.Popen(
        [_program("FAKE_PROVIDER_BIN")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    urls = json.loads(process.stdout.readline())
    yield urls
    process.stdin.close()
    process.terminate()
    process.wait(timeout=10)


class Gateway:
    """A running `budgetllm serve` and its admin API."""

    def __init__(self, url):
        self.url = url

    def request(self, method, path, body=None, token=MASTER_KEY):
        """Status and JSON body (or text) of one HTTP call to the gateway."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def create_key(self, **settings):
        status, body = self.request("POST", "/admin/keys", {"name": "sdk test", **settings})
        assert status == 201, body
        return body

    def revoke(self, key_id):
        status, body = self.request("DELETE", f"/admin/keys/{key_id}")
        assert status == 200, body

    def metrics(self):
        status, text = self.request("GET", "/metrics")
        assert status == 200
        return text


@pytest.fixture
def gateway(fake_provider, tmp_path):
    """A gateway on a free port with its own state file, in front of the fake provider."""
    env = dict(os.environ)
    for name in ("BUDGETLLM_REDIS_URL", "BUDGETLLM_STATE_PATH", "BUDGETLLM_CONFIG"):
        env.pop(name, None)
    env.update(
        BUDGETLLM_MASTER_KEY=MASTER_KEY,
        OPENAI_API_KEY="sk-upstream-sdk-test",
        OPENAI_BASE_URL=fake_provider["openai_base_url"],
    )
    process = subprocess.Popen(
        [
            _program("BUDGETLLM_BIN"),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-path",
            str(tmp_path / "budgetllm.db"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert "http://" in line, f"unexpected first line from serve: {line!r}"
    url = "http://" + line.split("http://", 1)[1].split()[0]
    gateway = Gateway(url)
    yield gateway
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0, "serve exits 0 on SIGTERM"
