"""A terminal chat on the same engine and database as the server (`python -m bot chat`)."""

from __future__ import annotations

import asyncio
import sys

from bot.engine import Engine
from handlers.base import Reply

PROMPT = "你> "


def render(replies: list[Reply]) -> str:
    """Plain text with numbered choices, the way WeChat text shows them."""
    lines: list[str] = []
    for reply in replies:
        lines.append(reply.text)
        lines.extend(f"  {i}. {label}" for i, label in enumerate(reply.choices, 1))
    return "\n".join(f"机器人> {line}" if i == 0 else f"        {line}" for i, line in enumerate(lines))


async def run_console(engine: Engine, user_id: str) -> None:
    loop = asyncio.get_running_loop()
    print("(输入 exit 退出;数字可选择上面的选项)")
    result = await engine.handle("console", user_id, "你好")
    print(render(result.replies))
    while True:
        line = await loop.run_in_executor(None, _read_line)
        if line is None or line.strip().lower() in {"exit", "quit", "退出"}:
            break
        result = await engine.handle("console", user_id, line)
        print(render(result.replies), flush=True)


def _read_line() -> str | None:
    try:
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
        line = sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        return None
    return line.rstrip("\n") if line else None
