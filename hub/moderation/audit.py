"""The append-only audit log of admin actions and reads (issue 20)."""

from __future__ import annotations

from typing import Any

from storage import Store
from storage.records import AuditRecord

from ..clock import new_id, now_iso


class AuditLog:
    """Writes one entry per admin action or read; nothing changes or removes one."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self,
        actor_id: str,
        action: str,
        target_type: str,
        target_id: str,
        reason: str = "",
        **details: Any,
    ) -> AuditRecord:
        entry = AuditRecord(
            id=new_id(),
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            at=now_iso(),
            reason=reason,
            details=details,
        )
        await self.store.audit.append(entry)
        return entry
