"""Running several hub processes as one: Redis pub/sub, ordered delivery, heartbeats."""
