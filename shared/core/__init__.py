"""Infrastructure: settings, engine and sessions, cursors, embedded PostgreSQL, migrations."""
