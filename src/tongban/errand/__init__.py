"""跑团代办: errand items, runners, requests, grab, dispatch, custody of documents."""
