"""Protocol fidelity: the official ``replicate`` package (a client nobody here wrote) against the demo.

If one of these fails, the demo backend is wrong, not the test.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ModelError, ReplicateError
from replicate.helpers import FileOutput

from seedream_widgets.demo import VERSION, DemoServer

MODEL = "bytedance/seedream-4"


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with DemoServer(start_seconds=0.02, base_seconds=0.05, per_image_seconds=0.05) as demo:
        yield demo


def make_client(server: DemoServer, token: str = "demo-token") -> Client:
    # Its request paths already start with /v1, so the base URL is the server's root.
    client = Client(api_token=token, base_url=server.url)
    client.poll_interval = 0.02
    return client


@pytest.fixture
def client(server: DemoServer) -> Iterator[Client]:
    official = make_client(server)
    yield official
    official._client.close()  # Client has no close(); its httpx client must not leak


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
        return width, height


def test_run_returns_file_outputs_with_inline_outputs(server: DemoServer, client: Client) -> None:
    # replicate.run() wraps only https: and data: URLs in FileOutput; with inline_outputs the demo answers
    # a finished Prefer: wait create with data: URIs, as Replicate's sync API did for small files.
    server.configure(inline_outputs=True)
    output: Any = client.run(MODEL, input={"prompt": "a red fox", "size": "1K", "aspect_ratio": "4:3"})
    assert isinstance(output, list) and len(output) == 1
    (item,) = output
    assert isinstance(item, FileOutput)
    assert size_of(item.read()) == (1152, 864)
    assert item.read() == server.output_bytes(server.stats.prediction_ids[0], 0)
    assert server.stats.requests == {"create": 1}  # one held request, no polling


def test_run_a_sequential_set_of_three(server: DemoServer, client: Client) -> None:
    server.configure(inline_outputs=True)
    output: Any = client.run(MODEL, input={"prompt": "a comic strip", "size": "1K", "aspect_ratio": "16:9",
                                      "sequential_image_generation": "auto", "max_images": 3})
    assert [type(item) for item in output] == [FileOutput] * 3
    contents = [item.read() for item in output]
    assert {size_of(data) for data in contents} == {(1280, 720)}
    assert len(set(contents)) == 3


def test_run_with_http_outputs_returns_urls_readable_through_the_client(server: DemoServer,
                                                                         client: Client) -> None:
    output: Any = client.run(MODEL, input={"prompt": "a red fox", "size": "1K", "aspect_ratio": "1:1"})
    (url,) = output
    assert isinstance(url, str) and url.startswith(f"{server.url}/files/")  # http: is not wrapped
    assert size_of(FileOutput(url, client).read()) == (1024, 1024)


def test_run_by_version_reference(server: DemoServer, client: Client) -> None:
    output: Any = client.run(f"{MODEL}:{VERSION}", input={"prompt": "a fox", "size": "1K", "aspect_ratio": "1:1"})
    assert len(output) == 1
    assert server.stats.requests == {"create": 1, "model": 1}  # it also fetched the version


def test_run_without_wait_polls(server: DemoServer, client: Client) -> None:
    output: Any = client.run(MODEL, input={"prompt": "a fox", "size": "1K", "aspect_ratio": "1:1"}, wait=False)
    assert len(output) == 1
    assert server.stats.requests["get"] >= 1


def test_create_then_wait(server: DemoServer, client: Client) -> None:
    prediction = client.models.predictions.create(model=MODEL, input={"prompt": "a fox", "size": "1K"},
                                                  wait=False)
    assert prediction.status == "starting" and prediction.output is None
    prediction.wait()
    status: str = prediction.status  # (re-read: wait() changed it)
    assert status == "succeeded" and prediction.error is None
    assert prediction.metrics is not None and prediction.metrics["image_count"] == 1
    assert prediction.urls is not None and prediction.urls["get"].endswith(f"/v1/predictions/{prediction.id}")
    outputs: Any = prediction.output
    (url,) = outputs
    assert size_of(FileOutput(url, client).read()) == (1024, 1024)
    assert "Generating 1024x1024 image with aspect ratio 1:1 at 1K resolution" in (prediction.logs or "")
    again = client.predictions.get(prediction.id)
    assert again.output == prediction.output


def test_create_by_version_and_list(server: DemoServer, client: Client) -> None:
    created = [client.predictions.create(version=VERSION, input={"prompt": f"fox {i}"}) for i in range(3)]
    server.configure(page_size=2)
    first = client.predictions.list()
    assert [p.id for p in first] == [created[2].id, created[1].id]
    assert first.next is not None
    second = client.predictions.list(first.next)
    assert [p.id for p in second] == [created[0].id] and second.next is None


def test_cancel(server: DemoServer, client: Client) -> None:
    prediction = client.models.predictions.create(model=MODEL, input={"prompt": "a fox [demo:slow=5]"})
    prediction.cancel()
    assert prediction.status == "canceled"
    prediction.reload()
    assert prediction.status == "canceled" and server.stats.cancels == 1


def test_stream(client: Client) -> None:
    prediction = client.models.predictions.create(
        model=MODEL, input={"prompt": "a fox", "sequential_image_generation": "auto", "max_images": 2})
    events = list(prediction.stream())
    kinds = [event.event.value for event in events]
    assert kinds.count("output") == 2 and kinds[-1] == "done"
    assert any("Generated image 2 of 2" in event.data for event in events if event.event.value == "logs")


def test_model_get(client: Client) -> None:
    model = client.models.get(MODEL)
    assert model.owner == "bytedance" and model.name == "seedream-4"
    assert model.latest_version is not None and model.latest_version.id == VERSION


def test_failed_prediction_raises_model_error(client: Client) -> None:
    with pytest.raises(ModelError) as caught:
        client.run(MODEL, input={"prompt": "a fox [demo:fail=out of foxes]"})
    assert caught.value.prediction.status == "failed"
    assert caught.value.prediction.error == "out of foxes"


def test_422_maps_to_replicate_error(server: DemoServer, client: Client) -> None:
    with pytest.raises(ReplicateError) as caught:
        client.run(MODEL, input={"prompt": "a fox", "max_images": 99, "size": "8K"})
    error = caught.value
    assert error.status == 422 and error.title == "Input validation failed"
    assert error.detail is not None
    assert "- input.size: " in error.detail and "- input.max_images: " in error.detail
    assert server.stats.creates == 0


def test_401_and_404_map_to_replicate_error(server: DemoServer) -> None:
    server.configure(token="the-right-token")
    wrong = make_client(server, token="a-wrong-token")
    try:
        with pytest.raises(ReplicateError) as caught:
            wrong.run(MODEL, input={"prompt": "a fox"})
        assert caught.value.status == 401 and caught.value.title == "Unauthenticated"
    finally:
        wrong._client.close()
    right = make_client(server, token="the-right-token")
    try:
        with pytest.raises(ReplicateError) as missing:
            right.predictions.get("nosuchprediction0000000000")
        assert missing.value.status == 404
        with pytest.raises(ReplicateError) as unknown_version:
            right.predictions.create(version="0" * 64, input={"prompt": "a fox"})
        assert unknown_version.value.status == 422
    finally:
        right._client.close()


def test_its_retry_transport_rides_over_a_503_and_429(server: DemoServer, client: Client) -> None:
    prediction = client.models.predictions.create(model=MODEL, input={"prompt": "a fox"})
    server.inject("503", route="get")
    server.inject("429", route="get", retry_after=0)
    prediction.wait()
    assert prediction.status == "succeeded"
    assert server.stats.faults_injected == {"503": 1, "429": 1}


def test_async_run(server: DemoServer) -> None:
    server.configure(inline_outputs=True)
    official = make_client(server)

    async def main() -> list[bytes]:
        try:
            output: Any = await official.async_run(MODEL, input={"prompt": "a fox", "size": "1K",
                                                            "aspect_ratio": "3:2"})
            return [await item.aread() for item in output]
        finally:
            await official._async_client.aclose()

    (data,) = asyncio.run(main())
    assert size_of(data) == (1248, 832)
