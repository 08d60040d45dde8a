"""A 3 MB local input image: the create's request size and the time to its answer, uploaded vs inline (issue 18).

Uploaded: above the client's 1 MB threshold the file goes through ``POST /v1/files`` and the create
carries its URL. Inline: the same client with ``upload_threshold=None`` sends it as a data URI
inside the create's JSON. The time is from ``start`` to the state whose prediction has an id (the
create answered), including the upload; the backend holds no create (``Prefer: wait`` ignored) so
the figure is the request itself.
"""

from __future__ import annotations

import io
import os
import time

from seedream_widgets import Seedream

from ._harness import Check, Context, Figure, RemoteDemo, median, rounded

NAME = "upload"


def _image(target_bytes: int) -> bytes:
    """A PNG of about ``target_bytes`` (random pixels do not compress)."""
    from PIL import Image

    side = int((target_bytes / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def run(ctx: Context) -> None:
    reps = 2 if ctx.quick else 5
    data = _image(3_000_000)
    path = ctx.workdir / "input.png"
    path.write_bytes(data)
    params = {"input_bytes": len(data), "repetitions": reps}
    server = RemoteDemo(start_seconds=0, base_seconds=0.2, per_image_seconds=0, hold_creates=False)
    figures: dict[str, tuple[list[float], float]] = {}
    try:
        for label, threshold in (("upload", 1_000_000), ("inline", None)):
            times: list[float] = []
            sizes: list[float] = []
            for rep in range(reps):
                # A new client each time: uploads are reused within a client (the second run would not upload).
                with Seedream(token="bench", base_url=server.base_url, output_dir=ctx.workdir / label,
                              upload_threshold=threshold) as client:
                    server.reset_stats()
                    started = time.perf_counter()
                    run = client.start(f"make it night ({label} {rep})", image_input=[path], size="1K")
                    while not run.state.id:
                        time.sleep(0.001)
                    times.append(time.perf_counter() - started)
                    run.wait()
                    sizes.append(float((server.stats.request_bytes or {}).get("create", 0)))
            figures[label] = (times, median(sizes))
    finally:
        server.close()
    up_t, up_size = figures["upload"]
    in_t, in_size = figures["inline"]
    ctx.add(Figure(NAME, "create_bytes_uploaded", "create request body with a 3 MB input, uploaded (Files API)",
                   up_size, "bytes", "< 64 KB", [Check("value", "<", 64 * 1024)], "inline data URI", in_size,
                   up_size / in_size if in_size else None, params))
    ctx.add(Figure(NAME, "create_answer_uploaded_s", "start to the create's answer, 3 MB input uploaded first",
                   median(up_t), "s", "", [], "inline data URI", median(in_t),
                   median(up_t) / median(in_t) if median(in_t) else None, params, rounded(up_t)))
    ctx.add(Figure(NAME, "create_answer_inline_s", "start to the create's answer, 3 MB input inline", median(in_t),
                   "s", "", [], "", None, None, params, rounded(in_t), note=f"create body {in_size / 1e6:.1f} MB"))
