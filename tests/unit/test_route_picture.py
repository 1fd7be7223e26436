"""The route picture (handlers/route_picture.py): the stops where their houses are, in their colours,
numbered, on the SLS outlines; nothing when no house has a position."""
from __future__ import annotations

import io

from PIL import Image

from handlers.route_picture import BACKGROUND, FILL, ROUTE, SUGGESTED, VISITED, Outline, PictureStop, draw_route

RT_001 = {"type": "Polygon", "coordinates": [[[117.199, -0.551], [117.205, -0.551], [117.205, -0.546],
                                              [117.199, -0.546], [117.199, -0.551]]]}


def test_no_position_no_picture() -> None:
    assert draw_route([], [Outline("RT 001", RT_001)]) is None


def test_stops_are_drawn_where_the_houses_are_with_north_up() -> None:
    stops = [PictureStop(1, -0.550, 117.200, "visited"), PictureStop(2, -0.547, 117.2039, "booked"),
             PictureStop(3, -0.5485, 117.2043, "suggested")]
    picture = Image.open(io.BytesIO(draw_route(stops, [Outline("RT 001", RT_001)])))
    assert picture.format == "PNG" and max(picture.size) <= 720
    found = {}
    for colour, name in ((VISITED, "visited"), (ROUTE, "booked"), (SUGGESTED, "suggested")):
        found[name] = _centre_of(picture.convert("RGB"), colour)
    # the visited house is south-west of the booked one: lower (greater y) and to the left on the picture
    assert found["visited"][0] < found["booked"][0] and found["visited"][1] > found["booked"][1]
    assert found["suggested"][0] > found["visited"][0]
    assert _centre_of(picture.convert("RGB"), FILL), "the RT's outline is filled"
    assert picture.convert("RGB").getpixel((2, 2)) == BACKGROUND


def test_one_house_alone_still_gets_a_frame() -> None:
    picture = Image.open(io.BytesIO(draw_route([PictureStop(1, -0.55, 117.2, "booked")], [])))
    assert min(picture.size) > 96


def _centre_of(image: Image.Image, colour: tuple[int, int, int]) -> tuple[float, float]:
    """The centre of the pixels of exactly ``colour`` (the filled stop circles, largely)."""
    xs, ys = [], []
    pixels = image.load()
    for y in range(0, image.size[1], 2):
        for x in range(0, image.size[0], 2):
            if pixels[x, y] == colour:
                xs.append(x)
                ys.append(y)
    assert xs, f"no pixel of {colour}"
    return sum(xs) / len(xs), sum(ys) / len(ys)
