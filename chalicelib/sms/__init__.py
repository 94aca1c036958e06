"""SMS 1708: the pure parts of the channel — gateway payloads, the conversation rules, GSM-7 texts."""
