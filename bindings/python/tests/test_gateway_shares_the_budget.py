"""A Python client and a `budgetllm serve` gateway (a Rust process) spend one Redis budget.

The gateway's gateway-wide budget is the ledger namespace given by `--namespace`, the same
namespace a Python `Client(namespace=...)` uses; the virtual key the gateway is called with has
no limits of its own, so the shared budget is the only one that can refuse a call.
"""

import http.client
import json
import os
import signal
import subprocess
import threading
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlparse

import pytest

from budgetllm import BudgetExceededError
from helpers import client, eventually, unique, user

NAMESPACE = "python-and-gateway"
MASTER_KEY = "shared-budget-test-master-key"
# Each call reserves its worst case (16 output tokens) and is billed about 0.0007 cents, so one
# side's 100 calls cost about 0.07 cents and both sides' 0.14. A 0.1 cent budget therefore
# refuses some calls however the two sides' calls interleave, and always leaves room for some
# of each side's, even when the other side gets going first.
LIMIT = 0.1
CALLS_PER_SIDE = 100
THREADS_PER_SIDE = 4


class GatewayProcess:
    """`budgetllm serve` on a free loopback port; its base URL and an HTTP helper."""

    def __init__(self, binary: str, redis_url: str, provider: Any, config_path: str) -> None:
        env = dict(os.environ)
        for name in ("BUDGETLLM_REDIS_URL", "BUDGETLLM_STATE_PATH", "BUDGETLLM_CONFIG",
                     "BUDGETLLM_NAMESPACE"):
            env.pop(name, None)
        env.update(
            BUDGETLLM_MASTER_KEY=MASTER_KEY,
            OPENAI_API_KEY="sk-upstream-test",
            OPENAI_BASE_URL=provider.openai_base_url,
        )
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--redis-url", redis_url,
             "--namespace", NAMESPACE, "--config", config_path],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "http://" not in line:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"budgetllm serve did not start: first line {line!r}")
        address = urlparse("http://" + line.split("http://", 1)[1].split()[0])
        self.host, self.port = address.hostname, address.port

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection (one per thread: connections are not thread-safe)."""
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            assert self.process.wait(timeout=15) == 0, "serve exits 0 on SIGTERM"
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def post(connection: http.client.HTTPConnection, path: str, token: str,
         body: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
    connection.request("POST", path, body=json.dumps(body), headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    })
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@pytest.fixture()
def gateway(budgetllm_bin, redis_url, provider, tmp_path) -> Iterator[GatewayProcess]:
    """A gateway whose gateway-wide total budget is LIMIT, on `redis_url` and NAMESPACE."""
    config = tmp_path / "budgetllm.toml"
    config.write_text(f"[budget]\ntotal_cents = {LIMIT}\n")
    process = GatewayProcess(budgetllm_bin, redis_url, provider, str(config))
    yield process
    process.stop()


def budgetllm_status(binary: str, redis_url: str) -> Dict[str, Any]:
    done = subprocess.run(
        [binary, "status", "--redis-url", redis_url, "--namespace", NAMESPACE, "--json"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_python_and_gateway_calls_never_overspend_one_redis_budget(
    gateway, provider, redis_url, budgetllm_bin
):
    python_client = client(provider, redis_url=redis_url, namespace=NAMESPACE,
                           budget_cents=LIMIT)
    admin = gateway.connection()
    status, created = post(admin, "/admin/keys", MASTER_KEY, {"name": "shared budget test"})
    admin.close()
    assert status == 201, created
    virtual_key = created["key"]

    lock = threading.Lock()
    answered: Dict[str, List[float]] = {"python": [], "gateway": []}
    refused: Dict[str, int] = {"python": 0, "gateway": 0}
    failures: List[str] = []
    start = threading.Barrier(2 * THREADS_PER_SIDE)

    def python_side(thread: int) -> None:
        start.wait()
        for call in range(CALLS_PER_SIDE // THREADS_PER_SIDE):
            try:
                response = python_client.chat(unique(f"python {thread}/{call}"), max_tokens=16)
            except BudgetExceededError:
                with lock:
                    refused["python"] += 1
            else:
                with lock:
                    answered["python"].append(response["cost_cents"])

    def gateway_side(thread: int) -> None:
        connection = gateway.connection()
        start.wait()
        for call in range(CALLS_PER_SIDE // THREADS_PER_SIDE):
            request = {"model": "gpt-4o-mini", "max_tokens": 16,
                       "messages": user(unique(f"gateway {thread}/{call}"))}
            status, body = post(connection, "/v1/chat/completions", virtual_key, request)
            with lock:
                if status == 200:
                    answered["gateway"].append(body["cost_cents"])
                elif status == 429 and body["error"].get("budget") == "gateway" \
                        and body["error"]["code"] == "total_limit_exceeded":
                    refused["gateway"] += 1
                else:
                    failures.append(f"{status}: {body}")
        connection.close()

    threads = [threading.Thread(target=python_side, args=(n,)) for n in range(THREADS_PER_SIDE)]
    threads += [threading.Thread(target=gateway_side, args=(n,)) for n in range(THREADS_PER_SIDE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    for side in ("python", "gateway"):
        assert len(answered[side]) + refused[side] == CALLS_PER_SIDE
        assert answered[side], f"the {side} side had no call answered"
    assert refused["python"] + refused["gateway"] > 0, "the shared limit was never reached"
    billed = sum(answered["python"]) + sum(answered["gateway"])

    def once_settled():
        seen = budgetllm_status(budgetllm_bin, redis_url)
        return seen if seen["budget"]["total"]["reserved_cents"] == 0 else None

    settled = eventually(once_settled)
    assert settled, "reservations were still open after every call returned"
    for seen in (settled, python_client.get_status()):
        total = seen["budget"]["total"]
        assert total["reserved_cents"] == 0
        assert total["spent_cents"] <= LIMIT
        assert total["spent_cents"] == pytest.approx(billed, abs=1e-9)
