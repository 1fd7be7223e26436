"""Unmodified python-telegram-bot and aiogram bots, polling the simulator as if it were Telegram.

The frameworks are imported inside the tests and fixtures: aiogram alone takes seconds to import, which
selecting other tests with ``-k`` should not pay.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Iterator

import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, ok
from simulator.testing import AsyncSimulatorClient, SimulatorHandle, make_png, running_simulator

BLOCKER_ID = 1002
MENU = "Pilih jadwal"


@pytest.fixture
def server() -> Iterator[SimulatorHandle]:
    with running_simulator(rate_limits=False) as handle:
        handle.register_bot(TOKEN, "pintu_test_bot")
        yield handle


@pytest.fixture
async def user(server: SimulatorHandle) -> AsyncIterator[AsyncSimulatorClient]:
    async with server.async_client() as client:
        yield client


# --- python-telegram-bot ----------------------------------------------------------------------------


def ptb_application(url: str):
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Senin", callback_data="day:mon")]])
        await update.message.reply_text(MENU, reply_markup=keyboard)

    async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("Tersimpan")
        await query.edit_message_text(f"Jadwal: {query.data}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        file = await update.message.photo[-1].get_file()
        data = bytes(await file.download_as_bytearray())
        await update.message.reply_photo(data, caption=f"{len(data)} bytes")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"<b>{update.message.text}</b>", parse_mode="HTML")

    application = (
        ApplicationBuilder().token(TOKEN).base_url(f"{url}/bot").base_file_url(f"{url}/file/bot").build()
    )
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(chosen))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


@pytest.fixture
async def ptb_bot(server: SimulatorHandle):
    application = ptb_application(server.url)
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=5)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_ptb_echoes_text(ptb_bot, user):
    await user.send_text(BOT_ID, USER_ID, "halo pintu")
    reply = await user.wait_for_message(BOT_ID, USER_ID)
    assert reply["text"] == "halo pintu"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 10}]


async def test_ptb_answers_a_press_and_edits_in_place(ptb_bot, user):
    await check_press_and_edit(user)


async def test_ptb_downloads_a_user_photo_and_sends_one(ptb_bot, user):
    await check_photo_round_trip(user)


async def test_ptb_gets_forbidden_for_a_blocked_user(ptb_bot, user):
    from telegram.error import Forbidden

    await start_then_block(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb_bot.bot.send_message(BLOCKER_ID, "Pengingat kunjungan")


# --- aiogram --------------------------------------------------------------------------------------


def aiogram_dispatcher():
    from aiogram import Bot, Dispatcher, F
    from aiogram.filters import Command
    from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

    dispatcher = Dispatcher()

    @dispatcher.message(Command("menu"))
    async def menu(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Senin", callback_data="day:mon")]])
        await message.answer(MENU, reply_markup=keyboard)

    @dispatcher.callback_query()
    async def chosen(query: CallbackQuery) -> None:
        await query.answer("Tersimpan")
        await query.message.edit_text(f"Jadwal: {query.data}")

    @dispatcher.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        file = await bot.get_file(message.photo[-1].file_id)
        data = (await bot.download_file(file.file_path)).read()
        await message.answer_photo(BufferedInputFile(data, "echo.png"), caption=f"{len(data)} bytes")

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"<b>{message.text}</b>", parse_mode="HTML")

    return dispatcher


@pytest.fixture
async def aiogram_bot(server: SimulatorHandle):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    dispatcher = aiogram_dispatcher()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        yield bot
    finally:
        await dispatcher.stop_polling()
        await polling


async def test_aiogram_echoes_text(aiogram_bot, user):
    await user.send_text(BOT_ID, USER_ID, "halo pintu")
    reply = await user.wait_for_message(BOT_ID, USER_ID)
    assert reply["text"] == "halo pintu"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 10}]


async def test_aiogram_answers_a_press_and_edits_in_place(aiogram_bot, user):
    await check_press_and_edit(user)


async def test_aiogram_downloads_a_user_photo_and_sends_one(aiogram_bot, user):
    await check_photo_round_trip(user)


async def test_aiogram_gets_forbidden_for_a_blocked_user(aiogram_bot, user):
    from aiogram.exceptions import TelegramForbiddenError

    await start_then_block(user)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await aiogram_bot.send_message(BLOCKER_ID, "Pengingat kunjungan")


# --- the scenarios both bots go through -----------------------------------------------------------


async def check_press_and_edit(user: AsyncSimulatorClient) -> None:
    await user.send_text(BOT_ID, USER_ID, "/menu")
    menu = await user.wait_for_message(BOT_ID, USER_ID, lambda m: m["text"] == MENU)
    assert menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "day:mon"
    query_id = await user.press(BOT_ID, USER_ID, menu["message_id"], "day:mon")
    edited = await user.wait_for_message(BOT_ID, USER_ID, lambda m: m["edited"])
    assert edited["message_id"] == menu["message_id"]
    assert edited["text"] == "Jadwal: day:mon"
    assert edited["reply_markup"] is None
    answer = await user.callback_answer(BOT_ID, query_id)
    assert answer["answered"] and answer["text"] == "Tersimpan"


async def check_photo_round_trip(user: AsyncSimulatorClient) -> None:
    png = make_png(640, 480)
    sent = await user.send_photo(BOT_ID, USER_ID, png)
    reply = await user.wait_for_message(BOT_ID, USER_ID, lambda m: m["photo_url"], newer_than=sent["message_id"])
    assert reply["text"] == f"{len(png)} bytes"  # the bot downloaded exactly what the user sent
    stats = await user.stats(BOT_ID)
    assert stats["methods"]["getFile"] == 1 and stats["methods"]["sendPhoto"] == 1


async def start_then_block(user: AsyncSimulatorClient) -> None:
    """A user talks to the bot (so it may write to them), waits for the answer, then blocks it."""
    await user.send_text(BOT_ID, BLOCKER_ID, "halo")
    await user.wait_for_message(BOT_ID, BLOCKER_ID)
    await user.block(BOT_ID, BLOCKER_ID)


# --- every object kind, validated by both frameworks' models --------------------------------------


def test_objects_parse_as_both_frameworks_models(server: SimulatorHandle):
    from aiogram import types as ag
    from telegram import ChatFullInfo, File, Update, User, WebhookInfo

    server.send_text(BOT_ID, USER_ID, "/start")
    sent = ok(server, "sendMessage", chat_id=USER_ID, text="?", reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})
    server.share_location(BOT_ID, USER_ID, -6.2, 106.8, horizontal_accuracy=10, live_period=60)
    server.share_contact(BOT_ID, USER_ID, "+62811")
    photo = server.send_photo(BOT_ID, USER_ID, make_png(500, 400), caption="foto")
    server.send_document(BOT_ID, USER_ID, b"%PDF", "a.pdf", caption="dok")
    server.send_text(BOT_ID, USER_ID, "jawab", reply_to_message_id=sent["message_id"])
    server.press(BOT_ID, USER_ID, sent["message_id"], "a")
    server.block(BOT_ID, USER_ID)
    updates = ok(server, "getUpdates")
    assert len(updates) == 8
    for raw in updates:
        assert ag.Update.model_validate(raw).update_id == raw["update_id"]
        assert Update.de_json(raw, None).update_id == raw["update_id"]
    replies = {
        "getMe": (ag.User, User),
        "getChat": (ag.ChatFullInfo, ChatFullInfo),
        "getWebhookInfo": (ag.WebhookInfo, WebhookInfo),
        "getFile": (ag.File, File),
    }
    params = {"getChat": {"chat_id": USER_ID}, "getFile": {"file_id": photo["photo"][0]["file_id"]}}
    for method, (aiogram_model, ptb_class) in replies.items():
        result = ok(server, method, **params.get(method, {}))
        aiogram_model.model_validate(result)
        assert ptb_class.de_json(result, None) is not None
