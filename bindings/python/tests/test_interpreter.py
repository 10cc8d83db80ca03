"""Objects holding Rust resources are released cleanly when the interpreter exits."""

import subprocess
import sys
import textwrap


def test_the_interpreter_exits_cleanly_with_clients_and_streams_alive(provider, redis_url):
    script = textwrap.dedent(f"""
        import asyncio, budgetllm
        c = budgetllm.Client(openai_key="sk-test", base_url={provider.openai_base_url!r},
                             redis_url={redis_url!r})
        c.chat("exit test", max_tokens=5)
        unfinished = c.chat.completions.create([{{"role": "user", "content": "left open"}}],
                                               max_tokens=5, stream=True)
        next(unfinished)
        tracker = budgetllm.BudgetTracker(redis_url={redis_url!r})
        cache = budgetllm.PromptCache(backend=budgetllm.RedisBackend({redis_url!r}))
        async def main():
            a = budgetllm.AsyncClient(openai_key="sk-test", base_url={provider.openai_base_url!r})
            return await a.chat("async exit test", max_tokens=5)
        asyncio.run(main())
        print("done")
    """)

    # A runtime thread still inside Python while the interpreter is torn down crashes the
    # process only sometimes: run it several times, side by side.
    runs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)

        assert run.returncode == 0, stderr
        assert stdout.strip() == "done"
        assert "panic" not in stderr
