// The drop zone's view (seedream_widgets/frontend/drop.py): files dropped, pasted or chosen go to the kernel
// as binary buffers of one custom message; Ctrl+Enter (Cmd+Enter) sends "submit".

function readable(bytes) {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}

export default {
  render({ model, el }) {
    const zone = document.createElement("div");
    zone.className = "sdw sdw-drop";
    zone.tabIndex = 0;
    zone.setAttribute("role", "button");
    zone.setAttribute("data-lm-suppress-shortcuts", "true");
    const label = document.createElement("div");
    label.className = "sdw-drop-label";
    const message = document.createElement("div");
    message.className = "sdw-drop-message sdw-muted";
    const hint = document.createElement("div");
    hint.className = "sdw-drop-hint sdw-muted";
    hint.textContent = "Ctrl+V pastes an image · Ctrl+Enter submits";
    const chooser = document.createElement("input");
    chooser.type = "file";
    chooser.multiple = true;
    chooser.hidden = true;
    zone.append(label, message, hint, chooser);
    el.appendChild(zone);

    function draw() {
      label.textContent = model.get("label");
      message.textContent = model.get("message");
      chooser.accept = model.get("accept");
      zone.classList.toggle("sdw-drop-disabled", model.get("disabled"));
      zone.setAttribute("aria-disabled", model.get("disabled") ? "true" : "false");
    }

    function wanted(file) {
      const accept = model.get("accept");
      if (!accept || accept === "*") return true;
      return accept.split(",").some((rule) => {
        rule = rule.trim();
        return rule.endsWith("/*") ? file.type.startsWith(rule.slice(0, -1)) : file.type === rule || file.name.endsWith(rule);
      });
    }

    async function send(list, how) {
      if (model.get("disabled")) return;
      const files = [...list].filter(wanted);
      const limit = model.get("max_bytes");
      const big = files.filter((f) => f.size > limit);
      const ok = files.filter((f) => f.size <= limit);
      const notes = [];
      if (big.length) notes.push(`too large (over ${readable(limit)}): ${big.map((f) => f.name).join(", ")}`);
      if (!files.length && list.length) notes.push("not an image file");
      if (ok.length) {
        const buffers = await Promise.all(ok.map((f) => f.arrayBuffer()));
        const meta = ok.map((f) => ({ name: f.name || "pasted image", type: f.type, size: f.size }));
        model.send({ kind: "files", how, files: meta }, undefined, buffers);
        notes.unshift(`sent ${ok.length} file${ok.length > 1 ? "s" : ""}`);
      }
      model.set("message", notes.join(" · "));
      model.save_changes();
    }

    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("sdw-drop-over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("sdw-drop-over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("sdw-drop-over");
      if (event.dataTransfer) send(event.dataTransfer.files, "drop");
    });
    zone.addEventListener("click", () => model.get("disabled") || chooser.click());
    chooser.addEventListener("change", () => {
      send(chooser.files, "choose");
      chooser.value = "";
    });

    const scope = (model.get("scope") && el.closest(model.get("scope"))) || zone;
    if (scope !== zone) scope.setAttribute("data-lm-suppress-shortcuts", "true");
    function onPaste(event) {
      const files = event.clipboardData ? [...event.clipboardData.files] : [];
      if (!files.length) return; // text pastes go where they were going
      event.preventDefault();
      send(files, "paste");
    }
    function onKey(event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        model.send({ kind: "submit" });
      } else if (event.target === zone && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        if (!model.get("disabled")) chooser.click();
      }
    }
    scope.addEventListener("paste", onPaste);
    scope.addEventListener("keydown", onKey);
    model.on("change", draw);
    draw();
    return () => {
      scope.removeEventListener("paste", onPaste);
      scope.removeEventListener("keydown", onKey);
    };
  },
};
