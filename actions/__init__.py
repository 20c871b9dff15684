"""Rasa custom actions of Trợ lý ảo (rasa-sdk 3.21 on Python 3.11, `rasa_sdk --actions actions`).

The action server imports ``retrieval`` in-process: one index, one model, loaded at start.
Modules by role: assistant (the shared retrieval core), focus (conversation slots), dates,
render (Vietnamese replies + citation payloads), and one module per family of actions.
"""
