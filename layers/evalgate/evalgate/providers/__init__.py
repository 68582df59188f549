"""Model providers: OpenAI-compatible HTTP, Anthropic Messages, Bedrock Converse, and offline ones."""
