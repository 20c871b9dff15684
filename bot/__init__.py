"""Channels gateway of Trợ lý ảo (web chat, Telegram, Zalo OA) and the launcher of the whole stack."""
