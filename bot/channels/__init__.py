"""The chat channels: one module per channel, and the plumbing they share.

`splitting` cuts long replies at sentence ends, `ordering` answers one sender's messages in the order
they came, `rendering` turns buttons and citations into what a channel can show, `payloads` keeps
button payloads too long for a channel's API. A channel module (`telegram`, `zalo`, `messenger`)
turns its payloads into `Gateway.handle(channel, user, text, message_id)` calls and the replies into
its API's messages; it is imported only when its credentials are set. Voice notes go to the voice
flow (bot/voice/hook.py) the app gives every channel.
"""
