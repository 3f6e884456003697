"""Platform administration: health, the working-day calendar and the audit log."""
