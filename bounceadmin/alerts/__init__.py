"""Alerts on bounce incidents: rules an admin configures (`models.AlertRule`), evaluated over the
cache by a beat task and after each applied webhook batch, raising one `Alert` per rule and
subject until it resolves, notified by email and a Slack-compatible webhook."""
