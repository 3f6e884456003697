"""Infrastructure shared by every domain: settings, database, security, calendar, audit."""
