"""Staff accounts: people of an organization who sign in to the screens as themselves."""
