// The gallery grid's view (seedream_widgets/browse/grid.py): a page of runs as thumbnails with actions. It
// draws the model's traits and reports clicks to the kernel as custom messages ({action, id} / {action, page}).

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function button(label, title, onClick, extra) {
  const element = node("button", `sdw-button ${extra || ""}`.trim(), label);
  element.type = "button";
  element.title = title;
  element.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return element;
}

export default {
  render({ model, el }) {
    const root = node("div", "sdw sdw-gallery");
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    const bar = node("div", "sdw-gallery-bar");
    const summary = node("div", "sdw-gallery-summary");
    const newer = button("‹ Newer", "Newer runs (previous page)", () => turn(-1));
    const where = node("span", "sdw-gallery-page sdw-muted");
    const older = button("Older ›", "Older runs (next page)", () => turn(1));
    const pager = node("div", "sdw-gallery-pager");
    pager.append(newer, where, older);
    bar.append(summary, pager);
    const notice = node("div", "sdw-gallery-notice");
    notice.setAttribute("role", "status");
    const grid = node("div", "sdw-gallery-grid");
    grid.setAttribute("role", "list");
    root.append(bar, notice, grid);
    el.appendChild(root);

    const send = (action, extra) => model.send({ action, ...extra });

    function turn(delta) {
      const page = model.get("page") + delta;
      if (page >= 0 && page < model.get("pages")) send("page", { page });
    }

    function cell(run) {
      const item = node("div", "sdw-cell");
      item.setAttribute("role", "listitem");
      item.dataset.id = run.id;
      const open = node("button", "sdw-cell-thumb");
      open.type = "button";
      open.title = `Open in the viewer: ${run.prompt}`;
      open.addEventListener("click", () => send("open", { id: run.id }));
      if (run.thumb) {
        const image = node("img");
        image.src = run.thumb;
        image.alt = run.prompt;
        image.loading = "lazy";
        open.append(image);
      } else {
        open.append(node("span", "sdw-cell-missing", run.pending ? "…" : "image missing"));
      }
      if (run.images > 1) open.append(node("span", "sdw-cell-count", `${run.images} images`));
      if (run.demo) open.append(node("span", "sdw-badge sdw-cell-demo", "DEMO"));
      if (run.edit) open.append(node("span", "sdw-cell-edit", "edit"));
      const prompt = node("div", "sdw-cell-prompt", run.prompt || "(no prompt)");
      prompt.title = run.prompt;
      const meta = node("div", "sdw-cell-meta sdw-muted");
      meta.append(node("div", "", run.when), node("div", "", run.model));
      meta.title = `${run.when} UTC · ${run.model} · ${run.id} · ${run.name}`;
      const star = button("", run.starred ? "Unstar" : "Star", () => send("star", { id: run.id }),
        `sdw-cell-star${run.starred ? " sdw-starred" : ""}`);
      star.append(node("span", "sdw-star-glyph", run.starred ? "★" : "☆"));
      star.setAttribute("aria-pressed", run.starred ? "true" : "false");
      const actions = node("div", "sdw-cell-actions");
      actions.append(star);
      if (model.get("can_use")) actions.append(button("Use", "Use as input (the registered on_use callbacks)", () => send("use", { id: run.id })));
      actions.append(
        button("Panel", "Open a panel with these settings (below the grid)", () => send("panel", { id: run.id })),
        button("Delete", "Move to the trash (undo right after)", () => send("delete", { id: run.id }), "sdw-cell-delete"),
      );
      item.append(open, prompt, meta, actions);
      return item;
    }

    function draw() {
      const runs = model.get("runs") || [];
      const total = model.get("total");
      const page = model.get("page");
      const size = model.get("page_size");
      const first = total ? page * size + 1 : 0;
      summary.textContent = total
        ? `${first.toLocaleString("en")}–${(first + runs.length - 1).toLocaleString("en")} of ${total.toLocaleString("en")} run${total === 1 ? "" : "s"}, newest first`
        : "";
      where.textContent = `page ${(page + 1).toLocaleString("en")} of ${Math.max(1, model.get("pages")).toLocaleString("en")}`;
      newer.disabled = page <= 0;
      older.disabled = page >= model.get("pages") - 1;
      pager.hidden = model.get("pages") <= 1;
      const info = model.get("notice") || {};
      notice.replaceChildren();
      notice.hidden = !info.text;
      notice.classList.toggle("sdw-error", !!info.error);
      if (info.text) {
        notice.append(node("span", "", info.text));
        if (info.undo) notice.append(button("Undo", "Bring the run back from the trash", () => send("undo", {})));
      }
      grid.replaceChildren(...runs.map(cell));
      if (!runs.length) {
        const empty = node("div", "sdw-gallery-empty sdw-muted");
        empty.textContent = model.get("filtered")
          ? "No run matches these filters."
          : `No runs in ${model.get("folder") || "the output folder"} yet: make some with SeedreamPanel() or %%seedream.`;
        grid.append(empty);
      }
    }

    const asked = new Set();
    function fill() {
      // The page came without some thumbnails (its time budget ran out): ask for them once it is drawn.
      const pending = (model.get("runs") || []).filter((run) => run.pending && !asked.has(run.id));
      if (!pending.length) return;
      pending.forEach((run) => asked.add(run.id));
      send("thumbs", {});
    }

    model.on("change", () => {
      draw();
      fill();
    });
    draw();
    fill();
  },
};
