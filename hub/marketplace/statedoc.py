"""The state diagrams and tables of docs/marketplace.md, generated from the
tables of hub/marketplace/states.py: ``python -m hub.marketplace.statedoc``
rewrites the part of the page between BEGIN and END (the page's path may be
given), and tests/test_marketplace_states.py fails when it is out of date."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .states import BID, JOB, MACHINES, Machine, Step

BEGIN = "<!-- states: generated from hub/marketplace/states.py by statedoc.py, do not edit -->"
END = "<!-- states: end -->"


def _states(states: tuple[str, ...]) -> str:
    return ", ".join(f"`{s}`" for s in states)


def _job_steps_by_bids() -> list[Step]:
    """The bid steps that move a job, as steps of the job."""
    return [
        Step(f"{s.action} a bid", s.job.source, s.job.target, s.by)
        for s in BID.steps
        if s.job is not None and s.job.target is not None
    ]


def _along(machine: Machine, step: Step) -> str:
    along = []
    if step.job is not None:
        moves = f" → `{step.job.target}`" if step.job.target else " (it stays)"
        along.append(f"the job {_states(step.job.source)}{moves}")
    if step.rejects:
        whose = "the other" if machine is BID else "its"
        along.append(f"{whose} {_states(step.rejects)} bids → `rejected`")
    if step.note:
        along.append(step.note)
    return "; ".join(along)


def render() -> str:
    """The state diagrams and tables of docs/marketplace.md, between BEGIN and END."""
    lines = [BEGIN]
    for machine in MACHINES:
        steps = [*machine.steps, *(_job_steps_by_bids() if machine is JOB else [])]
        lines += ["", f"**{machine.kind.capitalize()}**", "", "```mermaid", "stateDiagram-v2"]
        lines += [
            f"    {source} --> {step.target}: {step.action}"
            for step in steps
            if step.target is not None
            for source in step.source
        ]
        lines += [
            "```",
            "",
            "| from | action | by | to | along with it |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_states(step.source)} | {step.action} | {' or '.join(step.by)} "
            f"| {f'`{step.target}`' if step.target else '(the same)'} | {_along(machine, step)} |"
            for step in steps
        ]
        if machine.needs:
            needs = ", ".join(f"{_states(s)} to {verb} it" for verb, s in machine.needs.items())
            lines += ["", f"Steps of other resources need the {machine.kind}: {needs}."]
    return "\n".join([*lines, "", END])


def rewrite(document: Path) -> bool:
    """Put ``render()`` between the markers of ``document``; whether it changed."""
    text = document.read_text()
    block = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    assert block.search(text), f"{document} has no {BEGIN!r} ... {END!r} block"
    new = block.sub(lambda _: render(), text)
    if new == text:
        return False
    document.write_text(new)
    return True


if __name__ == "__main__":
    for name in sys.argv[1:] or ["docs/marketplace.md"]:
        print(name, "rewritten" if rewrite(Path(name)) else "up to date")
