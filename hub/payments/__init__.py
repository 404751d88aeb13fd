"""Payment providers behind one interface, and the hub's webhook signature scheme."""

from .provider import PaymentProvider, ProviderError
from .sandbox import SandboxProvider
from .signing import SIGNATURE_HEADER, TOLERANCE_S, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "TOLERANCE_S",
    "PaymentProvider",
    "ProviderError",
    "SandboxProvider",
    "sign",
    "verify",
]
