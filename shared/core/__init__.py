"""Infrastructure: settings and local secrets, engine and sessions, cursors, embedded PostgreSQL,
migrations."""
