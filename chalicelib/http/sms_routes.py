"""SMS 1708: the gateways' inbound webhooks (being built)."""
