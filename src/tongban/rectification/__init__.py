"""整改督办: rectification tasks with working-day deadlines, reminders, escalation and the
points at risk, turned into assessment adjustments when a deadline is missed."""
