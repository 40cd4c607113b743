"""Our database backends (settings `ENGINE`); see `verify_platform.lib.db.base`."""
