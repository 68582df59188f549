"""Unit tests of evalgate.providers: offline providers, tokens, pricing, config, gateway."""
