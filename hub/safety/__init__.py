"""Trust and safety: contact-detail masking (hub/safety/contacts.py) and, beside it,
the moderation parts of issue 20."""
