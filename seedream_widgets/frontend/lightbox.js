// The lightbox's view (seedream_widgets/browse/lightbox.py): one image large, zoom, keys, details, download,
// before/after. It renders the model's traits and asks the kernel for image bytes with custom messages; the
// bytes it receives become blob: URLs held only by this view (never written back into the model).

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function button(label, title, onClick) {
  const element = node("button", "sdw-button", label);
  element.type = "button";
  element.title = title;
  element.setAttribute("aria-label", title);
  element.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return element;
}

const ZOOMS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];

export default {
  render({ model, el }) {
    const root = node("div", "sdw sdw-lightbox");
    root.tabIndex = 0;
    root.hidden = true;
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-label", "Image viewer");
    // JupyterLab and Notebook 7 leave keys inside this element to it (arrows would move the cell selection).
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    el.appendChild(root);

    const counter = node("div", "sdw-lb-counter");
    const title = node("div", "sdw-lb-title");
    const zoomOut = button("−", "Zoom out (−)", () => zoomBy(-1));
    const zoomLabel = button("Fit", "Fit the image to the view (0)", () => setZoom(0));
    const zoomIn = button("+", "Zoom in (+)", () => zoomBy(1));
    const compare = button("Before / after", "Compare with the input image of this edit", () => {
      comparing = !comparing;
      draw();
    });
    const use = button("Use as input", "Append this image to the input images", () =>
      model.send({ kind: "use", epoch: model.get("epoch"), index: model.get("index") }));
    const download = button("Download", "Save the image under a descriptive name", () => save());
    const close = button("✕", "Close (Escape)", () => setIndex(-1));
    close.classList.add("sdw-lb-close");
    const tools = node("div", "sdw-lb-tools");
    tools.append(zoomOut, zoomLabel, zoomIn, compare, use, download, close);
    const header = node("div", "sdw-lb-header");
    const heading = node("div", "sdw-lb-heading");
    heading.append(counter, title);
    header.append(heading, tools);

    const frame = node("div", "sdw-lb-frame");
    const before = node("img", "sdw-lb-before");
    before.alt = "the input image (before)";
    const after = node("img", "sdw-lb-image");
    const divider = node("div", "sdw-lb-divider");
    const note = node("div", "sdw-lb-note");
    const tags = [node("span", "sdw-lb-tag sdw-lb-tag-before", "before"), node("span", "sdw-lb-tag sdw-lb-tag-after", "after")];
    frame.append(before, after, divider, note, ...tags);
    const previous = button("‹", "Previous image (←)", () => move(-1));
    previous.classList.add("sdw-lb-nav", "sdw-lb-previous");
    const next = button("›", "Next image (→)", () => move(1));
    next.classList.add("sdw-lb-nav", "sdw-lb-next");
    const stage = node("div", "sdw-lb-stage");
    stage.append(frame, previous, next);
    const slider = node("input", "sdw-lb-slider");
    slider.type = "range";
    slider.min = "0";
    slider.max = "100";
    slider.value = "50";
    slider.setAttribute("aria-label", "Before / after divider");
    slider.addEventListener("input", () => place());
    const details = node("div", "sdw-lb-details");
    const prompt = node("p", "sdw-lb-prompt");
    const aside = node("div", "sdw-lb-aside");
    aside.append(prompt, details);
    const main = node("div", "sdw-lb-main");
    main.append(stage, slider);
    const body = node("div", "sdw-lb-body");
    body.append(main, aside);
    const help = node("div", "sdw-lb-help sdw-muted",
      "← → images · ↑ ↓ runs · + − 0 zoom · double-click 100% · Esc close");
    root.append(header, body, help);

    const cache = new Map(); // "epoch:index:part" -> {url, blob} | {url, external} | {missing}
    const asked = new Set();
    let request = 0;
    let zoom = 0; // 0: fit the view; else the scale of the image's natural size
    let comparing = false;
    let wasOpen = false;

    const slides = () => model.get("slides") || [];
    const key = (index, part) => `${model.get("epoch")}:${index}:${part}`;

    function ask(index, part) {
      const k = key(index, part);
      if (index < 0 || index >= slides().length || cache.has(k) || asked.has(k)) return;
      asked.add(k);
      request += 1;
      model.send({ kind: "load", epoch: model.get("epoch"), index, part, request });
    }

    function forget() {
      for (const entry of cache.values()) if (entry.blob) URL.revokeObjectURL(entry.url);
      cache.clear();
      asked.clear();
    }

    function setIndex(index) {
      model.set("index", index);
      model.save_changes();
    }

    function move(delta) {
      const target = model.get("index") + delta;
      if (target >= 0 && target < slides().length) setIndex(target);
      else model.send({ kind: "edge", epoch: model.get("epoch"), direction: delta > 0 ? 1 : -1 });
    }

    function moveRun(delta) {
      const list = slides();
      const here = Math.max(0, model.get("index"));
      const starts = list.map((s, i) => (i === 0 || s.run !== list[i - 1].run ? i : -1)).filter((i) => i >= 0);
      const current = Math.max(...starts.filter((i) => i <= here));
      const target = delta > 0 ? starts.find((i) => i > here) : starts.filter((i) => i < current).pop();
      if (target !== undefined) setIndex(target);
      else model.send({ kind: "edge", epoch: model.get("epoch"), direction: delta > 0 ? 1 : -1 });
    }

    function setZoom(value) {
      zoom = value;
      draw();
    }

    let pendingZoom = 0; // a zoom key pressed before the image loaded: applied once it has
    function zoomBy(direction) {
      if (!after.naturalWidth) {
        pendingZoom = direction;
        return;
      }
      const natural = after.naturalWidth;
      const shown = zoom || after.clientWidth / natural || 1;
      const steps = direction > 0 ? ZOOMS.filter((z) => z > shown + 1e-3) : ZOOMS.filter((z) => z < shown - 1e-3);
      if (steps.length) setZoom(direction > 0 ? steps[0] : steps[steps.length - 1]);
    }

    function save() {
      const slide = slides()[model.get("index")];
      const entry = cache.get(key(model.get("index"), "image"));
      if (!slide || !entry || !entry.blob) return;
      const link = document.createElement("a");
      link.href = entry.url;
      link.download = slide.name; // the descriptive name (RunRecord.file_name)
      document.body.appendChild(link);
      link.click();
      link.remove();
    }

    function place() {
      const cut = Number(slider.value);
      after.style.clipPath = comparing ? `inset(0 0 0 ${cut}%)` : "";
      divider.style.left = `${cut}%`;
    }

    function draw() {
      const list = slides();
      const index = model.get("index");
      const open = index >= 0 && index < list.length;
      root.hidden = !open;
      if (!open) {
        wasOpen = false;
        return;
      }
      const slide = list[index];
      counter.textContent = `${index + 1} / ${list.length}` + (slide.count > 1 ? ` · image ${slide.number} of ${slide.count}` : "");
      title.textContent = slide.name;
      title.title = slide.name;
      prompt.textContent = slide.prompt;
      const row = (label, value) => {
        const line = node("div", "sdw-lb-row");
        const text = node("span", "sdw-lb-value");
        text.append(value);
        line.append(node("span", "sdw-lb-label", label), text);
        return line;
      };
      details.replaceChildren(...(slide.details || []).map(([label, text]) => row(label, text)));
      if (slide.demo) {
        const mark = node("span");
        mark.append(node("span", "sdw-badge", "DEMO"), " local demo backend");
        details.prepend(row("Backend", mark));
      }
      const image = cache.get(key(index, "image"));
      const loaded = !!(image && image.url);
      const shown = loaded ? image.url : slide.thumb || "";
      if (after.getAttribute("src") !== shown) {
        if (shown) after.src = shown;
        else after.removeAttribute("src");
      }
      after.alt = slide.prompt || slide.name;
      after.classList.toggle("sdw-lb-loading", !loaded);
      note.textContent = image && image.missing ? "This image file is gone from the output folder." :
        loaded ? "" : "Loading the full image…";
      note.hidden = !note.textContent;
      download.disabled = !loaded;
      use.hidden = !model.get("can_use");
      compare.hidden = !slide.edit;
      const input = cache.get(key(index, "before"));
      const canCompare = comparing && slide.edit && input && input.url;
      compare.classList.toggle("sdw-primary", !!canCompare);
      compare.setAttribute("aria-pressed", canCompare ? "true" : "false");
      if (comparing && slide.edit && input && input.missing) note.textContent = "The input image of this edit is not available.";
      note.hidden = !note.textContent;
      root.classList.toggle("sdw-lb-comparing", !!canCompare);
      slider.hidden = !canCompare;
      before.hidden = !canCompare;
      divider.hidden = !canCompare;
      tags.forEach((tag) => (tag.hidden = !canCompare));
      if (canCompare && before.getAttribute("src") !== input.url) before.src = input.url;
      place();
      const zoomed = zoom > 0 && !canCompare && after.naturalWidth > 0;
      root.classList.toggle("sdw-lb-zoomed", zoomed);
      after.style.width = zoomed ? `${Math.round(after.naturalWidth * zoom)}px` : "";
      zoomLabel.textContent = zoomed ? `${Math.round(zoom * 100)}%` : "Fit";
      previous.disabled = false;
      next.disabled = false;
      ask(index, "image");
      if (comparing && slide.edit) ask(index, "before");
      ask(index + 1, "image"); // the neighbours, so arrows feel instant
      ask(index - 1, "image");
      if (!wasOpen) {
        wasOpen = true;
        root.focus({ preventScroll: true });
        root.scrollIntoView({ block: "nearest" });
      }
    }

    root.addEventListener("keydown", (event) => {
      if (event.target === slider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
      const actions = {
        ArrowRight: () => move(1),
        ArrowLeft: () => move(-1),
        ArrowDown: () => moveRun(1),
        ArrowUp: () => moveRun(-1),
        Home: () => setIndex(0),
        End: () => setIndex(slides().length - 1),
        Escape: () => setIndex(-1),
        "+": () => zoomBy(1),
        "=": () => zoomBy(1),
        "-": () => zoomBy(-1),
        "0": () => setZoom(0),
      };
      const action = actions[event.key];
      if (!action || event.ctrlKey || event.metaKey || event.altKey) return;
      event.preventDefault();
      event.stopPropagation();
      action();
    });
    after.addEventListener("dblclick", () => setZoom(zoom ? 0 : 1));
    after.addEventListener("load", () => {
      if (pendingZoom) {
        const direction = pendingZoom;
        pendingZoom = 0;
        zoomBy(direction);
      } else if (zoom) draw();
    });

    model.on("msg:custom", (message, buffers) => {
      if (!message || message.kind !== "image" || message.epoch !== model.get("epoch")) return;
      const k = key(message.index, message.part);
      if (message.missing) cache.set(k, { missing: true });
      else if (message.url) cache.set(k, { url: message.url, external: true });
      else if (buffers && buffers.length) {
        const blob = new Blob([buffers[0]], { type: message.mime || "application/octet-stream" });
        cache.set(k, { url: URL.createObjectURL(blob), blob });
      }
      if (message.index === model.get("index")) draw();
    });
    model.on("change:epoch", () => {
      forget();
      comparing = false;
      zoom = pendingZoom = 0;
    });
    model.on("change:slides", draw);
    model.on("change:index", () => {
      zoom = pendingZoom = 0;
      draw();
    });
    model.on("change:can_use", draw);
    draw();
    return () => forget();
  },
};
