// The part of Playwright's selector language the suites use, as plain functions that run inside
// the page, so the Firefox (puppeteer-core) and WebKit (WebDriver) pages find the same elements
// Playwright finds in Chromium. Each function is self-contained: it is sent to the page as source.
//
//   css                        document.querySelectorAll, within the previous step's elements
//   css:has-text("t")          ... whose text contains t
//   css:text("t")              ... the smallest such elements (no child element also contains t)
//   text=t                     the smallest elements containing t, the step's root included
//   text="t"                   ... whose whole text is t
//   text=/re/flags             ... whose text matches re
//   a >> b                     b within each element a found
//
// Text is textContent with whitespace runs made one space and trimmed; unquoted text matches
// case-insensitively, as in Playwright.

/** Every element `chain` (a list of selectors, each maybe `a >> b`) finds, in document order. */
export function queryAll(chain, visibleOnly) {
  const normal = (s) => s.replace(/\s+/g, " ").trim();
  const textOf = (el) => normal(el.textContent ?? "");
  const matcher = (body) => {
    const regex = body.match(/^\/(.*)\/([a-z]*)$/s);
    if (regex) {
      const re = new RegExp(regex[1], regex[2]);
      return (text) => re.test(text);
    }
    const quoted = body.match(/^(["'])(.*)\1$/s);
    if (quoted) return (text) => text === normal(quoted[2]);
    const needle = normal(body).toLowerCase();
    return (text) => text.toLowerCase().includes(needle);
  };
  const smallest = (elements, test) =>
    elements.filter((el) => test(textOf(el)) && ![...el.children].some((child) => test(textOf(child))));
  const step = (roots, part) => {
    part = part.trim();
    const found = new Set();
    for (const root of roots) {
      if (part.startsWith("text=")) {
        const top = root.nodeType === Node.DOCUMENT_NODE ? root.documentElement : root;
        for (const el of smallest([top, ...top.querySelectorAll("*")], matcher(part.slice(5)))) found.add(el);
        continue;
      }
      const pseudo = part.match(/^(.*):(has-text|text)\((["'])(.*)\3\)$/s);
      const css = pseudo ? pseudo[1] : part;
      let elements = [...root.querySelectorAll(css)];
      if (pseudo) {
        const test = matcher(pseudo[4]);
        elements = pseudo[2] === "text" ? smallest(elements, test) : elements.filter((el) => test(textOf(el)));
      }
      for (const el of elements) found.add(el);
    }
    return [...found];
  };
  let elements = [document];
  for (const selector of chain) for (const part of selector.split(" >> ")) elements = step(elements, part);
  // Playwright's "visible": a non-empty box and not visibility: hidden.
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  elements.sort((a, b) => (a === b ? 0 : a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  return visibleOnly ? elements.filter(visible) : elements;
}

/** Playwright's fill: focus, set the value, and tell the page as typing would. */
export function fillElement(el, value) {
  el.focus();
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

/** Playwright's selectOption for one value: by option value, else by label. */
export function selectElement(el, value) {
  const option = [...el.options].find((o) => o.value === value) ?? [...el.options].find((o) => o.label === value);
  if (!option) throw new Error(`no option ${value}`);
  el.value = option.value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

/** The form control a check() means: the element itself, or the control of its label. */
export function checkable(el) {
  const label = el.closest("label");
  return el instanceof HTMLInputElement ? el : (label?.control ?? el.querySelector("input") ?? el);
}
