"""Bot API methods about the bot itself: identity, updates, webhooks, commands, chats and files."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from .calls import Call, method
from .errors import bad_request, conflict
from .messages import resolve_chat
from .params import Params
from .world import Webhook, scope_key

MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]*")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


@method("getMe")
async def get_me(call: Call, p: Params) -> dict:
    """The bot's User, with the capability flags getMe adds."""
    return {
        **call.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
async def log_out(call: Call, p: Params) -> bool:
    """Accepted and ignored: there is no cloud server to log out from."""
    return True


@method("close")
async def close(call: Call, p: Params) -> bool:
    """Accepted and ignored: there is no bot instance to close."""
    return True


# --- updates ----------------------------------------------------------------------------------------


@method("getUpdates")
async def get_updates(call: Call, p: Params) -> list[dict]:
    """Long polling: confirm by offset, then answer at once or when an update arrives."""
    bot = call.bot
    if bot.webhook is not None:
        raise conflict(
            "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
        )
    limit = min(max(p.integer("limit", 100), 1), 100)
    timeout = min(max(p.integer("timeout"), 0), call.world.config.max_long_poll)
    bot.updates.set_allowed(p.lenient_obj("allowed_updates"))
    bot.updates.confirm(p.integer("offset"))
    updates = bot.updates.peek(limit)
    if updates or timeout == 0:
        return updates
    # This request now owns the long poll; an older one still waiting ends with 409, as on Telegram.
    bot.poll_generation += 1
    bot.updates.signal.notify()
    return await _long_poll(call, bot.poll_generation, limit, timeout)


async def _long_poll(call: Call, generation: int, limit: int, timeout: float) -> list[dict]:
    bot = call.bot
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await bot.updates.signal.wait(deadline - loop.time())
        if bot.poll_generation != generation:
            raise conflict("terminated by other getUpdates request; make sure that only one bot instance is running")
        if bot.webhook is not None:
            raise conflict("terminated by setWebhook request")
        updates = bot.updates.peek(limit)
        if updates or loop.time() >= deadline or call.world.closing:
            return updates


# --- webhooks ---------------------------------------------------------------------------------------


@method("setWebhook")
async def set_webhook(call: Call, p: Params) -> bool:
    """Deliver updates by POSTing them to a URL (an empty URL removes the webhook).

    Unlike Telegram, plain http URLs are accepted: the simulator lives on loopback.
    """
    url = p.text("url")
    if not url:
        return await delete_webhook(call, p)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("invalid webhook URL specified")
    secret = p.text("secret_token")
    if secret and len(secret) > 256:
        raise bad_request("secret token is too long")
    if secret and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    bot = call.bot
    if p.flag("drop_pending_updates"):
        bot.updates.clear()
    bot.updates.set_allowed(p.lenient_obj("allowed_updates"))
    max_connections = min(max(p.integer("max_connections", 40), 1), 100)
    bot.webhook = Webhook(url, secret, max_connections, p.text("ip_address"))
    bot.updates.signal.notify()  # a waiting getUpdates ends with "terminated by setWebhook request"
    call.webhooks.start(bot)
    return True


@method("deleteWebhook")
async def delete_webhook(call: Call, p: Params) -> bool:
    """Go back to getUpdates, optionally dropping what is pending."""
    call.bot.webhook = None
    call.webhooks.stop(call.bot)
    if p.flag("drop_pending_updates"):
        call.bot.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(call: Call, p: Params) -> dict:
    """The webhook's state; ``url`` is empty when updates are polled."""
    bot = call.bot
    info: dict = {"url": "", "has_custom_certificate": False, "pending_update_count": len(bot.updates)}
    webhook = bot.webhook
    if webhook is None:
        return info
    info.update(url=webhook.url, max_connections=webhook.max_connections)
    optional = {
        "ip_address": webhook.ip_address,
        "last_error_date": webhook.last_error_date,
        "last_error_message": webhook.last_error_message,
        "allowed_updates": sorted(bot.updates.allowed) if bot.updates.allowed else None,
    }
    info.update({name: value for name, value in optional.items() if value is not None})
    return info


# --- commands ---------------------------------------------------------------------------------------


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.obj("scope", "BotCommandScope")
    if scope is not None:
        if not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
        if scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        if isinstance(scope.get("chat_id"), str) and scope["chat_id"].lstrip("-").isdigit():
            scope = {**scope, "chat_id": int(scope["chat_id"])}
    return scope_key(scope), p.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(call: Call, p: Params) -> bool:
    """Set the command menu for a scope and language (an empty list clears it)."""
    commands = p.obj("commands", "commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object" if commands is None else "expected an Array of BotCommand")
    cleaned = [_command(item) for item in commands]
    if len(cleaned) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    key = _commands_key(p)
    if cleaned:
        call.bot.commands[key] = cleaned
    else:
        call.bot.commands.pop(key, None)
    return True


def _command(item: object) -> dict:
    if not isinstance(item, dict):
        raise bad_request("can't parse BotCommand: expected an Object")
    command, description = item.get("command"), item.get("description")
    if not isinstance(command, str) or not isinstance(description, str):
        raise bad_request('can\'t parse BotCommand: Field "command" and "description" must be of type String')
    if not _COMMAND.fullmatch(command):
        raise bad_request("BOT_COMMAND_INVALID")
    if not 1 <= len(description.strip()) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}


@method("getMyCommands")
async def get_my_commands(call: Call, p: Params) -> list[dict]:
    """The commands set for exactly this scope and language."""
    return call.bot.commands.get(_commands_key(p), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call, p: Params) -> bool:
    """Remove the commands of a scope and language."""
    call.bot.commands.pop(_commands_key(p), None)
    return True


# --- chats and files --------------------------------------------------------------------------------


@method("getChat")
async def get_chat(call: Call, p: Params) -> dict:
    """A ChatFullInfo with the fields the Bot API marks as always present."""
    target = resolve_chat(call, p, write=False)
    accepted_gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"), False
    )
    return {**target.chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": accepted_gifts}


@method("getFile")
async def get_file(call: Call, p: Params) -> dict:
    """A File with a download path, for files up to the 20 MB Telegram lets bots download."""
    file_id = p.text("file_id")
    if not file_id:
        raise bad_request("file_id not specified")
    stored = call.bot.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > call.world.config.max_download_bytes:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": call.bot.files.assign_path(stored),
    }
