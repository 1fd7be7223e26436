"""Business rules of Pintu: plain data in, plain data out, no Telegram and no SQL here."""
