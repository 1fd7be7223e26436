"""A Telegram Bot API simulator: see README.md in this folder."""
