"""Accounts: users, authentication, blocks and roles."""

from .service import AccountService

__all__ = ["AccountService"]
