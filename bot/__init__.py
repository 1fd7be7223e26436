"""Transports (python-telegram-bot and aiogram), configuration, the CLI and the one place everything is wired."""
