"""End-to-end tests that run the bot against a loopback stand-in Discord."""
