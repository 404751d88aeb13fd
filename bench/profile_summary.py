"""Top costs from py-spy's collapsed stacks (``--format raw``).

``python -m bench.profile_summary bench/results/profile-sends-hub.txt``
prints the functions with the most samples on-CPU at the top of the stack
(self) and anywhere in the stack (total), per thread.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

IDLE = (
    "select (",
    "poll (",
    "epoll",
    "_worker (concurrent",
    "wait (threading",
    "_run_once",
    "run_forever",
    "_connection_worker_thread (aiosqlite",
)


def summarize(path: Path, top: int = 25) -> str:
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "all"
        threads[thread] += count
        samples += count
        self_counts[f"{_short(frames[-1])}"] += count
        for frame in set(_short(f) for f in frames):
            total_counts[frame] += count
    if not samples:
        return "(no samples)"
    lines = [
        f"{samples} samples; by thread: "
        + ", ".join(f"{t} {c / samples:.0%}" for t, c in threads.most_common(6))
    ]
    lines.append("self (top of stack):")
    lines += [f"  {c / samples:6.1%}  {f}" for f, c in self_counts.most_common(top)]
    lines.append("total (anywhere in stack):")
    lines += [f"  {c / samples:6.1%}  {f}" for f, c in total_counts.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    parts = file.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else file
    return f"{name} ({short})"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}:\n{summarize(Path(arg))}\n")
