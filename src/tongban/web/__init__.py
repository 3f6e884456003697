"""The web shell: layout, navigation, templates and static assets, and the home page."""
