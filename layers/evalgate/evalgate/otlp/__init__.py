"""OpenTelemetry (OTLP) traces in: the wire formats (`wire`) and the mapping of LLM spans onto traces (`genai`).

Pure code (no I/O, no AWS): the service `evalgate.services.otlp` decodes a request with `wire`, maps its spans
with `genai` and stores the result through the trace service.
"""
