"""The GPU side: sample solutions with an engine, grade them, and write them to the store.

Nothing here is imported by the API or the dashboard; vLLM, torch and transformers are imported
lazily, inside the engine that needs them.
"""
