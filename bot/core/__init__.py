"""The answer engine: pure logic, no Discord imports (the bot and the CLI both use it)."""
