"""Organisations (province → city → county/department → township), cohorts, users and roles."""
