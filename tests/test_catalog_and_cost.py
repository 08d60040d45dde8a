"""Issue 15 through the Python API, against the demo backend over sockets: the schema cache, the family's rules
before any request, and cost before you spend (``estimate``, ``max_cost`` with nothing sent)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from seedream_widgets import CostLimitExceeded, Result, Seedream, ValidationError
from seedream_widgets.demo import DemoServer
from seedream_widgets.models import PRICES

TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
FOUR, FOUR_FIVE, FIVE_LITE = (f"bytedance/seedream-{v}" for v in ("4", "4.5", "5-lite"))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SEEDREAM_CACHE_DIR", str(folder))
    return folder


def test_a_fetched_schema_is_cached_per_model_and_version_and_serves_a_base_without_models(
        tmp_path: Path, cache: Path) -> None:
    with DemoServer(base_seconds=0.1, per_image_seconds=0) as server:
        with Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out", model=FOUR_FIVE) as client:
            schema = client.load_schema(refresh=True)
            assert schema.source == "service" and schema.version
            version = schema.version
        files = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.json"))
        assert any(f.endswith(f"bytedance__seedream-4.5/{version}.json") for f in files), files
        for path in cache.rglob("*.json"):
            text = path.read_text(encoding="utf-8")
            assert TOKEN not in text and json.loads(text)["version"]
        server.configure(models_route=False)  # now a proxy without /models: the cached copy serves
        with Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out", model=FOUR_FIVE) as again:
            assert again.schema.source == "cache" and again.schema.version == version
            result = again.generate("a red fox", image_input=[], size="2K")
    assert isinstance(result, Result)


def test_the_family_rules_apply_before_any_request(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 30, 30)).save(tiny)
    with DemoServer(base_seconds=0.1, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out") as client:
        with pytest.raises(ValidationError, match="size") as refused:
            client.generate("a fox", model=FOUR_FIVE, size="1K")
        assert "2K" in str(refused.value), "it says what that model allows"
        with pytest.raises(ValidationError, match="custom"):
            client.generate("a fox", model=FIVE_LITE, size="custom")
        creates_before = server.stats.creates
        assert creates_before == 0, "refused locally, nothing sent"
        made = client.generate("a fox", model=FOUR_FIVE, size="2K", image_input=[tiny] * 14,
                               disable_safety_checker=True)
        lite = client.generate("a fox", model=FIVE_LITE, size="3K", output_format="png")
        with pytest.raises(ValidationError, match="image_input"):
            client.generate("a fox", model=FOUR, image_input=[tiny] * 12)
    assert made.paths[0].is_file() and lite.paths[0].suffix == ".png"
    assert lite.sizes[0][0] > 2048, "3K on seedream-5-lite renders above 2K"


def test_estimate_and_max_cost_refuse_a_grid_with_nothing_sent(tmp_path: Path) -> None:
    with DemoServer(base_seconds=0.1, per_image_seconds=0) as server:
        with Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out") as client:
            one = client.estimate("a fox", sequential_image_generation="auto", max_images=4)
            assert (one.images, one.usd) == (4, pytest.approx(4 * PRICES[FOUR].usd_per_image))
            grid = client.estimate("a fox", model=[FOUR, FOUR_FIVE, FIVE_LITE], size="2K")
            assert grid.runs == 3 and grid.images == 3
            assert grid.usd == pytest.approx(sum(PRICES[m].usd_per_image for m in (FOUR, FOUR_FIVE, FIVE_LITE)))
        with Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out", max_cost=0.05) as capped:
            with pytest.raises(CostLimitExceeded, match="nothing was sent"):
                capped.compare("a fox", model=[FOUR, FOUR_FIVE, FIVE_LITE], size="2K")
            with pytest.raises(CostLimitExceeded):
                capped.generate("a story", sequential_image_generation="auto", max_images=4)
            assert server.stats.creates == 0 and server.stats.requests.get("create", 0) == 0
            cheap = capped.generate("a fox", size="1K")  # $0.03: under the limit
        assert cheap.cost == pytest.approx(PRICES[FOUR].usd_per_image)


def test_a_slow_models_route_never_holds_a_known_model_back(tmp_path: Path, cache: Path) -> None:
    with DemoServer(base_seconds=0.1, per_image_seconds=0) as server:
        server.inject("latency", route="model", seconds=8, times=5)
        with Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out", model=FOUR_FIVE) as client:
            started = time.monotonic()
            result = client.generate("a fox", size="2K")
            took = time.monotonic() - started
        asked = server.stats.requests.get("model", 0)
    assert isinstance(result, Result)
    assert asked >= 1, "the schema was asked for (in the background), and it was slow"

    assert took < 6, f"a generation waited {took:.1f} s for a schema fetch; the snapshot serves at once"
