"""Per-call time of `budgetllm.Client` from Python, against the official `openai` SDK.

Every variant calls the same local upstream (the test support's `fake-provider`, which answers
at once), so what differs is the client's own work. The variants are measured in interleaved
rounds, so a slow phase of a shared machine hits them all alike; what to compare is the ratio
to the `openai` SDK measured in the same run.

Run by `cargo xtask bench-python` (and `cargo xtask bench`), which builds the extension in
release mode first: numbers from a debug build say nothing. By hand, in a virtualenv with the
release wheel and `openai` installed:

    FAKE_PROVIDER_BIN=target/release/fake-provider python bindings/python/benches/bench_client.py
"""

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import urlparse

import budgetllm
import openai

MODEL = "gpt-4o-mini"
MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Explain in two sentences what a token bucket rate limiter is."},
]
MAX_TOKENS = 64
# A budget no run reaches: every call is still reserved against it and settled.
BUDGET_CENTS = 1_000_000
CACHE_HIT_GOAL_NS = 20_000

Call = Callable[[], Any]


def start_fake_provider(binary: str) -> Tuple[subprocess.Popen, str]:
    """The fake provider and its OpenAI base URL."""
    process = subprocess.Popen(
        [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"{binary} exited without printing its URLs")
    return process, json.loads(line)["openai_base_url"]


def raw_http_call(base_url: str) -> Call:
    """The floor: one keep-alive `http.client` POST and `json.loads` of the answer."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    body = json.dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS})
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    path = url.path.rstrip("/") + "/chat/completions"

    def call() -> Any:
        connection.request("POST", path, body=body, headers=headers)
        return json.loads(connection.getresponse().read())

    return call


def variants(base_url: str) -> Dict[str, Call]:
    """Each measured call, checked once so a misconfigured variant cannot pass for a fast one."""
    sdk = openai.OpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    uncached = budgetllm.Client(
        openai_key="sk-bench", base_url=base_url, cache_enabled=False, budget_cents=BUDGET_CENTS
    )
    cached = budgetllm.Client(
        openai_key="sk-bench", base_url=base_url, budget_cents=BUDGET_CENTS
    )
    calls: Dict[str, Call] = {
        "http.client POST + json.loads (floor)": raw_http_call(base_url),
        "openai SDK (baseline)": lambda: sdk.chat.completions.create(
            model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS
        ),
        "budgetllm Client, cache disabled": lambda: uncached.chat.completions.create(
            MESSAGES, model=MODEL, max_tokens=MAX_TOKENS
        ),
        "budgetllm Client, cache hit": lambda: cached.chat.completions.create(
            MESSAGES, model=MODEL, max_tokens=MAX_TOKENS
        ),
    }
    assert calls["openai SDK (baseline)"]().choices[0].message.content
    first = calls["budgetllm Client, cache disabled"]()
    assert first["cache_hit"] is False and first["cost_cents"] > 0, first
    calls["budgetllm Client, cache hit"]()  # stores the answer
    assert calls["budgetllm Client, cache hit"]()["cache_hit"] is True
    return calls


class Samples:
    """One variant's measurements: wall-clock time of each call, and CPU time of this process
    (every thread, the extension's runtime threads included) per block of calls."""

    def __init__(self) -> None:
        self.wall_ns: List[int] = []
        self.cpu_ns = 0
        self.cpu_calls = 0


def measure(
    calls: Dict[str, Call], rounds: int, per_round: int, warmup: int
) -> Dict[str, Samples]:
    """Each variant's samples, over `rounds` interleaved rounds."""
    samples = {name: Samples() for name in calls}
    for call in calls.values():
        for _ in range(warmup):
            call()
    for _ in range(rounds):
        for name, call in calls.items():
            sample = samples[name]
            cpu_start = time.process_time_ns()
            for _ in range(per_round):
                start = time.perf_counter_ns()
                call()
                sample.wall_ns.append(time.perf_counter_ns() - start)
            sample.cpu_ns += time.process_time_ns() - cpu_start
            sample.cpu_calls += per_round
    return samples


def percentile(sorted_values: List[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def report(samples: Dict[str, Samples], context: Dict[str, str]) -> Dict[str, Any]:
    baseline = samples["openai SDK (baseline)"]
    baseline_median = statistics.median(baseline.wall_ns)
    baseline_cpu = baseline.cpu_ns / baseline.cpu_calls
    rows = []
    for name, sample in samples.items():
        ordered = sorted(sample.wall_ns)
        median = statistics.median(ordered)
        cpu = sample.cpu_ns / sample.cpu_calls
        rows.append({
            "variant": name,
            "calls": len(ordered),
            "median_us": median / 1000,
            "p99_us": percentile(ordered, 0.99) / 1000,
            "ratio_to_openai_sdk": median / baseline_median,
            "cpu_per_call_us": cpu / 1000,
            "cpu_ratio_to_openai_sdk": cpu / baseline_cpu,
        })
    by_name = {row["variant"]: row for row in rows}
    uncached = by_name["budgetllm Client, cache disabled"]
    hit = by_name["budgetllm Client, cache hit"]
    goals = {
        "uncached call no slower than the openai SDK": uncached["ratio_to_openai_sdk"] <= 1.0,
        "cache hit median <= 20 us": hit["median_us"] * 1000 <= CACHE_HIT_GOAL_NS,
    }
    return {"context": context, "results": rows, "goals": goals}


def print_markdown(result: Dict[str, Any]) -> None:
    for key, value in result["context"].items():
        print(f"- {key}: {value}")
    print()
    print("| variant | calls | median | p99 | median / openai SDK | CPU per call "
          "| CPU / openai SDK |")
    print("|---|---|---|---|---|---|---|")
    for row in result["results"]:
        print(f"| {row['variant']} | {row['calls']} | {row['median_us']:.1f} µs "
              f"| {row['p99_us']:.1f} µs | {row['ratio_to_openai_sdk']:.3f}× "
              f"| {row['cpu_per_call_us']:.1f} µs | {row['cpu_ratio_to_openai_sdk']:.3f}× |")
    print()
    for goal, met in result["goals"].items():
        print(f"- {goal}: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--per-round", type=int, default=300,
                        help="timed calls per variant and round (default 300)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="untimed calls per variant first (default 200)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()

    binary = os.environ.get("FAKE_PROVIDER_BIN")
    if not binary or not os.path.isfile(binary):
        raise SystemExit("set FAKE_PROVIDER_BIN to a built fake-provider "
                         "(cargo build --release -p budgetllm-test-support --bin fake-provider)")
    provider, base_url = start_fake_provider(binary)
    try:
        context = {
            "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "CPU": f"{cpu_model()}, {os.cpu_count()} logical CPUs (nproc)",
            "load average before": load_average(),
            "Python": f"{platform.python_implementation()} {platform.python_version()}",
            "openai SDK": openai.__version__,
            "upstream": "fake-provider on loopback, answers at once",
            "rounds x calls per round": f"{args.rounds} x {args.per_round} "
                                        f"(after {args.warmup} warm-up calls each)",
        }
        samples = measure(variants(base_url), args.rounds, args.per_round, args.warmup)
        context["load average after"] = load_average()
    finally:
        assert provider.stdin is not None
        provider.stdin.close()
        provider.wait(timeout=10)
    result = report(samples, context)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print_markdown(result)


if __name__ == "__main__":
    main()
