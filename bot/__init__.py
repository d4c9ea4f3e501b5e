"""supportbot: probes -> outages -> tickets and clocks -> outbox -> Slack."""
