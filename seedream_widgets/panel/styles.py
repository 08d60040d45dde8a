"""What the panel adds to the page: a stylesheet and a small script, carried by its companion output.

The stylesheet reflows the panel down to 420 px, sets a problem field's label in bold, keeps the preview's
lines from splitting words, gives text the theme's main font colour where ipywidgets' own is too
faint (inactive tab titles and closed accordion headers: 4.4:1 in the light theme), and hides the
panel's static copy wherever the panel itself is on the page (``:has``). The script makes the
preview's Copy buttons copy, shows a tidy note in place of an input image URL the browser cannot
load, and makes Ctrl+Enter anywhere in the panel its drop zone's Ctrl+Enter (Generate) rather than
the notebook's "run cell". Both are constants (no user text), in the output the panel displays
beside itself (`fallback`), never in the widgets' state: that holds no live markup (the hostile-text
tests read it). Without them (an untrusted notebook, a panel nested in another widget) the panel
still works; Copy does nothing, a broken URL shows its short alt text, and Ctrl+Enter works inside
the drop zone only. Every colour is a JupyterLab theme variable
(with the fallback `display.COLORS` uses).
"""

from __future__ import annotations

from ..display import COLORS

_RULES = f"""
.seedream-panel {{ box-sizing: border-box; max-width: 100%; }}
.seedream-panel .seedream-row {{ row-gap: 2px; min-width: 0; }}
.seedream-panel .seedream-row > .widget-html {{ min-width: 0; }}
.seedream-panel .seedream-row > .widget-html > .widget-html-content {{ line-height: 1.35; align-self: center; }}
.seedream-panel .seedream-choices {{ flex-wrap: wrap; min-width: 0; }}
.seedream-panel .seedream-choices > div {{ display: flex; flex-wrap: wrap; row-gap: 2px; }}
.seedream-panel .seedream-field-note, .seedream-panel .seedream-field-problem {{ white-space: normal;
  overflow-wrap: anywhere; }}
.seedream-panel .seedream-row.seedream-invalid > :first-child {{ font-weight: 600; }}
.seedream-panel .widget-html-content {{ overflow-wrap: normal; word-break: normal; }}
.seedream-panel pre {{ line-height: 1.4; }}
.seedream-panel .lm-TabBar-tab {{ min-width: 0; }}
.seedream-panel .seedream-snippet pre {{ tab-size: 2; }}
.seedream-panel .widget-slider {{ min-width: 150px; }}
.seedream-panel .widget-readout {{ color: {COLORS["text"]}; }}
.seedream-panel .lm-TabBar-tab, .seedream-panel .lm-TabBar-tabLabel,
.seedream-panel .jupyter-widget-Collapse-header {{ color: {COLORS["text"]}; }}
"""

_SCRIPT = """(() => {
  if (window.seedreamPanelPage) return;
  window.seedreamPanelPage = true;
  const copied = (button) => {
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  };
  const older = (button, text) => {
    const area = document.createElement('textarea');
    area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove(); copied(button);
  };
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('.seedream-copy');
    if (!button) return;
    const text = button.parentElement.querySelector('pre').textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => copied(button), () => older(button, text));
    } else { older(button, text); }
  });
  const missing = (image) => {
    image.style.display = 'none';
    if (image.nextElementSibling) image.nextElementSibling.style.display = 'block';
  };
  document.addEventListener('error', (event) => {
    if (event.target.classList && event.target.classList.contains('seedream-url-image')) missing(event.target);
  }, true);
  // Ctrl+Enter anywhere in a panel is its drop zone's Ctrl+Enter (Generate), not the notebook's "run cell": the
  // panel suppresses the notebook's shortcuts (Lumino's attribute) once focus is in it, and hands the key on.
  document.addEventListener('focusin', (event) => {
    const panel = event.target.closest && event.target.closest('.seedream-panel');
    if (panel) panel.setAttribute('data-lm-suppress-shortcuts', 'true');
  }, true);
  document.addEventListener('keydown', (event) => {
    if (!event.isTrusted || event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
    const panel = event.target.closest && event.target.closest('.seedream-panel');
    const zone = panel && panel.querySelector('.sdw-drop');
    if (!zone || zone.contains(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
    zone.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', ctrlKey: true, bubbles: true}));
  }, true);
  document.querySelectorAll('img.seedream-url-image').forEach((image) => {
    if (image.complete && !image.naturalWidth) missing(image);  // failed before this script ran
  });
})();"""


def panel_class(model_id: str) -> str:
    """The class only this panel's widget carries (``seedream-panel-<model id>``)."""
    return f"seedream-panel-{model_id}"


def page_html(model_id: str, fallback: str) -> str:
    """The stylesheet (hiding ``fallback``'s class wherever this panel shows) and the script."""
    hide = f"body:has(.{panel_class(model_id)}) .{fallback}{{display:none!important}}"
    return f"<style>{_RULES}{hide}</style><script>{_SCRIPT}</script>"
