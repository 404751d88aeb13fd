"""A realtime messaging hub for freelance marketplaces. Start at ``hub.app.create_app``."""
