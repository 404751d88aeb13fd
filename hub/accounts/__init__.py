"""Accounts: users, authentication, sessions, blocks and roles."""

from .service import AccountService
from .sessions import ClientInfo, SessionService

__all__ = ["AccountService", "ClientInfo", "SessionService"]
