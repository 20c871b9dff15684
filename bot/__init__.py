"""Channels gateway of Trợ lý ảo (web chat, Telegram, Zalo OA, Facebook Messenger) and the launcher of the whole stack."""
