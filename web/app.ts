/**
 * The outliner page of `logbook serve` (docs/web.md): a virtually scrolled view of one document,
 * edited by keyboard as in Workflowy, with per-row history, checkout and diff. Plain DOM, no
 * framework: only the rows in the viewport exist, fetched from the engine's view builder.
 * User text is only ever set as text (textContent), never as HTML.
 */

export {};

interface Stats {
  descendants: number;
  total: number;
  done: number;
  percent: number;
}
interface Row {
  oid: string;
  vid: string;
  depth: number;
  content: string;
  props: Record<string, unknown>;
  stats: Stats;
  childCount: number;
  folded: boolean;
}
interface Doc {
  oid: string;
  vid: string;
  content: string;
  childCount: number;
  stats: Stats;
}
interface RowInfo {
  oid: string;
  vid: string;
  parentOid: string | null;
  index: number;
  path: string[];
  content: string;
  props: Record<string, unknown>;
}
/** One step of the page's own undo: what to send to put a row back, and to redo it. */
interface Step {
  undo: () => Promise<unknown>;
  redo: () => Promise<unknown>;
  /** The row to focus after the undo, and after the redo when that is another one (a removal's). */
  focus: string;
  redoFocus?: string;
}

const ROW = 28;
const OVERSCAN = 10;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scroller = $<HTMLDivElement>("scroller");
const spacer = $<HTMLDivElement>("spacer");
const rowsEl = $<HTMLDivElement>("rows");
const statusEl = $<HTMLDivElement>("status");

let doc: Doc | undefined;
let total = 0;
let windowStart = 0;
let shown: Row[] = [];
let focused: { oid: string; caret: number } | undefined;
let fetchSeq = 0;
let preview: { oid: string; vid: string } | undefined;
const undoStack: Step[] = [];
const redoStack: Step[] = [];
const pending = new Map<string, { timer: ReturnType<typeof setTimeout>; before: string; text: string }>();
/** Texts sent but not yet answered: until then the server's older text must not be drawn over them. */
const saving = new Map<string, string>();

/**
 * The token of the URL `logbook serve` printed: kept for this tab (a reload keeps it), taken out of
 * the address bar, and sent with every API call in a header.
 */
const token = (() => {
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  if (given) {
    sessionStorage.setItem("logbook-token", given);
    params.delete("token");
    history.replaceState(null, "", `/${params.size ? `?${params}` : ""}`);
  }
  return sessionStorage.getItem("logbook-token") ?? "";
})();

async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const headers: Record<string, string> = { "x-logbook-token": token, ...(json === undefined ? {} : { "content-type": "application/json" }) };
  const response = await fetch(path, { ...rest, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
  const body = (await response.json()) as T & { error?: { code: string; message: string } };
  if (!response.ok) {
    say(body.error?.message ?? `HTTP ${response.status}`);
    throw new Error(body.error?.message ?? String(response.status));
  }
  return body;
}

function say(text: string): void {
  statusEl.textContent = text;
  setTimeout(() => {
    if (statusEl.textContent === text) statusEl.textContent = "";
  }, 4000);
}

// ---- documents -------------------------------------------------------------------------------

async function start(): Promise<void> {
  const docs = await api<Doc[]>("/api/docs");
  const wanted = new URLSearchParams(location.search).get("doc");
  const pick = docs.find((d) => d.oid === wanted) ?? (docs.length === 1 ? docs[0] : undefined);
  if (!pick) return listDocs(docs);
  await openDoc(pick);
}

function listDocs(docs: Doc[]): void {
  $("docs").hidden = false;
  scroller.hidden = true;
  const list = $("doclist");
  list.replaceChildren(
    ...docs.map((d) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/?doc=${encodeURIComponent(d.oid)}`;
      a.textContent = d.content || "(untitled)";
      li.append(a, ` — ${d.stats.descendants} rows`);
      return li;
    }),
  );
  if (docs.length === 0) list.textContent = "No documents yet: import an OPML or Markdown file.";
}

async function openDoc(d: Doc): Promise<void> {
  doc = d;
  history.replaceState(null, "", `/?doc=${encodeURIComponent(d.oid)}`); // the token stays in sessionStorage
  $("docs").hidden = true;
  scroller.hidden = false;
  $("title").textContent = d.content || "(untitled)";

  await refresh();
  if (shown[0]) focusRow(shown[0].oid, 0);
}

// ---- the virtual list ------------------------------------------------------------------------

/** Fetches and draws the rows in the viewport (and a few around it); stale answers are dropped. */
async function refresh(): Promise<void> {
  if (!doc) return;
  const seq = ++fetchSeq;
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - OVERSCAN);
  const limit = Math.ceil(scroller.clientHeight / ROW) + 2 * OVERSCAN;
  const root = preview ?? { oid: doc.oid, vid: undefined };
  const q = new URLSearchParams({ doc: root.oid, offset: String(first), limit: String(limit), ...(root.vid ? { vid: root.vid } : {}) });
  const view = await api<{ total: number; rows: Row[] }>(`/api/view?${q}`);
  if (seq !== fetchSeq) return;
  total = view.total;
  windowStart = first;
  shown = view.rows;
  spacer.style.height = `${total * ROW}px`;
  draw();
}

function draw(): void {
  const active = document.activeElement;
  const typing = active instanceof HTMLElement && active.classList.contains("text") ? active : null;
  const keep = typing ? caretOf(typing) : undefined;
  // The row being typed in stays the same element (focus, caret and selection intact, no keystroke
  // lost to a refresh); every other row is drawn anew.
  const editing = typing?.closest<HTMLElement>(".row") ?? null;
  const kept = editing && !preview && shown.some((r) => r.oid === editing.dataset["oid"]) ? editing : null;
  rowsEl.classList.toggle("preview", preview !== undefined);
  for (const child of [...rowsEl.children]) if (child !== kept) child.remove();
  let before = true;
  shown.forEach((row, i) => {
    if (kept && row.oid === kept.dataset["oid"]) {
      fillRow(kept, row, windowStart + i);
      // Another tab's edit of this row shows unless this tab is editing it too (its own text wins).
      const text = kept.querySelector<HTMLElement>(".text")!;
      if (!pending.has(row.oid) && !saving.has(row.oid) && text.textContent !== row.content) {
        const at = caretOf(text);
        text.textContent = row.content;
        placeCaret(text, at);
      }
      before = false;
    } else if (kept && before) rowsEl.insertBefore(rowElement(row, windowStart + i), kept);
    else rowsEl.append(rowElement(row, windowStart + i));
  });
  $("docstats").textContent = doc ? `${total.toLocaleString("en")} rows${preview ? " · preview (read-only)" : ""}` : "";
  if (focused) {
    const el = textOf(focused.oid);
    if (el && el !== document.activeElement) placeCaret(el, keep ?? focused.caret);
  }
}

/** The row as last fetched (handlers of a kept element outlive the row they were made with). */
const liveRow = (row: Row): Row => shown.find((r) => r.oid === row.oid) ?? row;

function rowElement(row: Row, index: number): HTMLElement {
  const el = document.createElement("div");
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = pending.get(row.oid)?.text ?? saving.get(row.oid) ?? row.content;
  text.contentEditable = preview ? "false" : "plaintext-only";
  text.tabIndex = 0;
  text.addEventListener("input", () => edited(liveRow(row), text.textContent ?? ""));
  text.addEventListener("keydown", (e) => void key(e, liveRow(row), text));
  text.addEventListener("focus", () => (focused = { oid: row.oid, caret: caretOf(text) }));
  el.append(text);
  fillRow(el, row, index);
  return el;
}

/** Everything of a row's element but its text: attributes, place, toggle, checkbox, statistics. */
function fillRow(el: HTMLElement, row: Row, index: number): void {
  const text = el.querySelector<HTMLElement>(".text")!;
  for (const child of [...el.children]) if (child !== text) child.remove();
  el.className = `row${row.props["done"] === true ? " done" : ""}`;
  el.dataset["oid"] = row.oid;
  el.setAttribute("role", "treeitem");
  el.setAttribute("aria-level", String(row.depth + 1));
  if (row.childCount > 0) el.setAttribute("aria-expanded", String(!row.folded));
  else el.removeAttribute("aria-expanded");
  el.style.top = `${index * ROW}px`;
  el.style.paddingLeft = `${row.depth * 1.5 + 0.5}rem`;
  const toggle = document.createElement("span");
  toggle.className = "toggle";
  toggle.textContent = row.childCount > 0 ? (row.folded ? "▸" : "▾") : "";
  toggle.addEventListener("click", () => void inTurn(() => fold(liveRow(row), !liveRow(row).folded)));
  const bullet = document.createElement("span");
  bullet.className = "bullet";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = row.props["done"] === true;
  box.hidden = typeof row.props["done"] !== "boolean";
  box.setAttribute("aria-label", "done");
  box.addEventListener("change", () => void inTurn(() => toggleDone(liveRow(row))));
  const stats = document.createElement("span");
  stats.className = "stats";
  const parts = [];
  if (row.childCount > 0) parts.push(`${row.stats.descendants} below`);
  if (row.stats.total > 0) parts.push(`${row.stats.percent}% done`);
  stats.textContent = parts.join(" · ");
  text.before(toggle, bullet, box);
  text.after(stats);
}

let scrollFrame = 0;
scroller.addEventListener("scroll", () => {
  cancelAnimationFrame(scrollFrame);
  scrollFrame = requestAnimationFrame(() => void refresh());
});
window.addEventListener("resize", () => void refresh());

const textOf = (oid: string) => rowsEl.querySelector<HTMLElement>(`.row[data-oid="${CSS.escape(oid)}"] .text`);
const caretOf = (el: HTMLElement) => {
  const sel = getSelection();
  return sel && sel.rangeCount > 0 && el.contains(sel.anchorNode) ? sel.anchorOffset : (el.textContent ?? "").length;
};
function placeCaret(el: HTMLElement, at: number): void {
  el.focus({ preventScroll: true });
  const node = el.firstChild;
  const sel = getSelection();
  if (!sel) return;
  const range = document.createRange();
  if (node) range.setStart(node, Math.min(at, node.textContent?.length ?? 0));
  else range.setStart(el, 0);
  range.collapse(true);
  sel.removeAllRanges();
  sel.addRange(range);
}

/** Focuses a row, scrolling it into view (fetching its window) when it is not drawn. */
async function focusRow(oid: string, caret: number, indexHint?: number): Promise<void> {
  focused = { oid, caret };
  // A poke's refresh may have superseded the one that would draw the row: ask again (a few times).
  for (let tries = 0; !textOf(oid) && tries < 3; tries++) {
    if (indexHint !== undefined && tries === 0) scroller.scrollTop = Math.max(0, (indexHint - 3) * ROW);
    await refresh();
  }
  const el = textOf(oid);
  // A row that has the focus already keeps its caret and selection (keys may have come since).
  if (el && focused.oid === oid && el !== document.activeElement) placeCaret(el, caret);
}

// ---- edits, each with its inverse for this page's undo ---------------------------------------

function edited(row: Row, text: string): void {
  const was = pending.get(row.oid);
  if (was) clearTimeout(was.timer);
  const before = was?.before ?? saving.get(row.oid) ?? row.content;
  pending.set(row.oid, { before, text, timer: setTimeout(() => void inTurn(() => flush(row.oid)), 400) });
}

async function flush(oid: string): Promise<void> {
  const p = pending.get(oid);
  if (!p) return;
  clearTimeout(p.timer);
  pending.delete(oid);
  if (p.text === p.before) return;
  saving.set(oid, p.text);
  try {
    await api(`/api/rows/${oid}`, { method: "PATCH", json: { content: p.text } });
  } finally {
    if (saving.get(oid) === p.text) saving.delete(oid);
  }
  record({ undo: () => api(`/api/rows/${oid}`, { method: "PATCH", json: { content: p.before } }), redo: () => api(`/api/rows/${oid}`, { method: "PATCH", json: { content: p.text } }), focus: oid });
}

async function flushAll(): Promise<void> {
  for (const oid of [...pending.keys()]) await flush(oid);
}

function record(step: Step): void {
  undoStack.push(step);
  redoStack.length = 0;
}

const info = (oid: string) => api<RowInfo>(`/api/rows/${oid}`);
const removeRow = (oid: string) => api(`/api/rows/${oid}`, { method: "DELETE" });
/** The inverse of a removal: the engine's restore puts the row back where it was, subtree and all. */
const restoreRow = (oid: string) => api(`/api/rows/${oid}/restore`, { method: "POST", json: {} });
const move = (oid: string, parentOid: string, index: number) => api<{ undo: { parentOid: string; index: number } }>(`/api/rows/${oid}/move`, { method: "POST", json: { parentOid, index } });

async function movedStep(oid: string, parentOid: string, index: number): Promise<void> {
  const { undo } = await move(oid, parentOid, index);
  record({ undo: () => move(oid, undo.parentOid, undo.index), redo: () => move(oid, parentOid, index), focus: oid });
}

/**
 * Edits and undo steps run one after the other, in the order their keys came: an undo pressed while a
 * move is on its way to the server undoes that move (its step is recorded by then), and a redo pressed
 * during an undo finds its step.
 */
let turn: Promise<unknown> = Promise.resolve();
/** Turns queued or running; the tree is `aria-busy` while any is (assistive tech, tests, styles). */
let waiting = 0;

function inTurn(work: () => Promise<unknown>): Promise<void> {
  waiting++;
  rowsEl.setAttribute("aria-busy", "true");
  const next = turn.then(work, work).finally(() => {
    if (--waiting === 0) rowsEl.removeAttribute("aria-busy");
  });
  turn = next.catch(() => undefined);
  return next.then(
    () => undefined,
    (error: unknown) => say(`failed: ${(error as Error).message}`),
  );
}

/** Ctrl-Z / Ctrl-Shift-Z: this page's own edits, undone and redone by their inverse ops. */
function undoRedo(e: KeyboardEvent): Promise<void> {
  e.preventDefault();
  const redo = e.shiftKey;
  return inTurn(async () => {
    await flushAll();
    const step = redo ? redoStack.pop() : undoStack.pop();
    if (!step) return say(redo ? "nothing to redo" : "nothing to undo");
    await (redo ? step.redo() : step.undo());
    (redo ? undoStack : redoStack).push(step);
    await refresh();
    return focusRow(redo ? (step.redoFocus ?? step.focus) : step.focus, 0);
  });
}

// Undo works wherever the focus is (after removing the only row in view, no row has it).
document.addEventListener("keydown", (e) => {
  const inRow = e.target instanceof HTMLElement && e.target.closest(".row") !== null;
  if (!inRow && !preview && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") void undoRedo(e);
});

/**
 * A key in a row's text. Which keys are ours is decided at once (the browser's default must be
 * stopped before any await); the work then waits its turn and reads the row as it is by then.
 */
function key(e: KeyboardEvent, kept: Row, text: HTMLElement): Promise<void> | undefined {
  if (preview) return undefined;
  const mod = e.ctrlKey || e.metaKey;
  const act = (work: (row: Row) => Promise<unknown>) => {
    e.preventDefault();
    return inTurn(() => work(liveRow(kept)));
  };
  if (mod && e.key.toLowerCase() === "z") return undoRedo(e);
  if (mod && e.key === "Enter") return act(toggleDone);
  if (e.key === "Enter") return act((row) => newRowBelow(row));
  if (e.key === "Tab") {
    const out = e.shiftKey;
    return act((row) => indent(row, text, out));
  }
  if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    const by = e.key === "ArrowUp" ? -1 : 1;
    return act((row) => reorder(row, text, by));
  }
  if (e.key === "ArrowUp" || e.key === "ArrowDown") {
    const by = e.key === "ArrowUp" ? -1 : 1;
    return act((row) => caretTo(row, text, by));
  }
  if (e.key === "Backspace" && (text.textContent ?? "") === "" && kept.childCount === 0) {
    return act(removeEmpty);
  }
  if (e.altKey && e.key.toLowerCase() === "h") {
    e.preventDefault();
    return showHistory(kept.oid);
  }
  if (mod && e.key === ".") return act((row) => fold(row, !row.folded));
  return undefined;
}

const indexOf = (row: Row) => windowStart + shown.indexOf(row);

async function newRowBelow(row: Row): Promise<void> {
  await flushAll();
  const index = indexOf(row);
  const here = await info(row.oid);
  if (here.parentOid === null) return;
  const made = await api<{ oid: string }>("/api/rows", { method: "POST", json: { parentOid: here.parentOid, index: here.index + 1, content: "" } });
  // Redo puts the same row back (a restore), so later steps that name it still apply.
  record({ undo: () => removeRow(made.oid), redo: () => restoreRow(made.oid), focus: row.oid, redoFocus: made.oid });
  await refresh();
  return focusRow(made.oid, 0, index + 1 + (row.folded ? 0 : row.stats.descendants));
}

async function indent(row: Row, text: HTMLElement, out: boolean): Promise<void> {
  await flushAll();
  const caret = caretOf(text);
  if (out) {
    const here = await info(row.oid);
    const parent = here.parentOid === null ? undefined : await info(here.parentOid);
    if (!parent || parent.parentOid === null) return say("already at the top level");
    await movedStep(row.oid, parent.parentOid, parent.index + 1);
  } else {
    const prev = previousSibling(row);
    if (!prev) return say("no row above at this level to indent under");
    await movedStep(row.oid, prev.oid, prev.childCount);
  }
  await refresh();
  return focusRow(row.oid, caret);
}

async function reorder(row: Row, text: HTMLElement, by: -1 | 1): Promise<void> {
  await flushAll();
  const here = await info(row.oid);
  if (here.parentOid === null) return;
  const to = here.index + by;
  if (to < 0) return;
  await movedStep(row.oid, here.parentOid, to);
  await refresh();
  return focusRow(row.oid, caretOf(text));
}

async function caretTo(row: Row, text: HTMLElement, by: -1 | 1): Promise<void> {
  const next = indexOf(row) + by;
  if (next < 0 || next >= total) return;
  scrollIntoRange(next);
  await refresh();
  const target = shown[next - windowStart];
  if (target) return focusRow(target.oid, Math.min(caretOf(text), target.content.length));
}

/** Backspace on an empty row without children removes it; the emptying was an edit of its own. */
async function removeEmpty(row: Row): Promise<void> {
  await flushAll();
  if (row.childCount > 0) return; // given rows meanwhile (by another tab)
  const index = indexOf(row);
  // The caret goes to the row above, or (removing the first) to the one that takes its place.
  const prev = shown[index - windowStart - 1] ?? shown[index - windowStart + 1];
  await removeRow(row.oid);
  record({ undo: () => restoreRow(row.oid), redo: () => removeRow(row.oid), focus: row.oid, ...(prev ? { redoFocus: prev.oid } : {}) });
  await refresh();
  if (prev) return focusRow(prev.oid, prev.content.length);
}

function previousSibling(row: Row): Row | undefined {
  for (let i = shown.indexOf(row) - 1; i >= 0; i--) {
    const r = shown[i]!;
    if (r.depth === row.depth) return r;
    if (r.depth < row.depth) return undefined;
  }
  return undefined;
}

function scrollIntoRange(index: number): void {
  const top = index * ROW;
  if (top < scroller.scrollTop) scroller.scrollTop = top;
  else if (top + ROW > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + ROW - scroller.clientHeight;
}

async function toggleDone(row: Row): Promise<void> {
  const was = row.props["done"];
  const next = was === true ? false : true;
  await api(`/api/rows/${row.oid}`, { method: "PATCH", json: { props: { done: next } } });
  record({ undo: () => api(`/api/rows/${row.oid}`, { method: "PATCH", json: { props: { done: typeof was === "boolean" ? was : null } } }), redo: () => api(`/api/rows/${row.oid}`, { method: "PATCH", json: { props: { done: next } } }), focus: row.oid });
  await refresh();
}

async function fold(row: Row, folded: boolean): Promise<void> {
  if (row.childCount === 0) return;
  await api(`/api/rows/${row.oid}/fold`, { method: "POST", json: { folded } });
  await refresh();
  await focusRow(row.oid, 0);
}

// ---- history, preview, checkout, diff --------------------------------------------------------

interface VersionEntry {
  vid: string;
  at: number;
  kind: string;
  causeOid: string;
  device?: string;
  textBefore?: string;
  textAfter?: string;
  changed: string[];
}
interface Change {
  kind: string;
  textBefore?: string;
  textAfter?: string;
}

async function showHistory(oid?: string): Promise<void> {
  const target = oid ?? focused?.oid ?? doc?.oid;
  if (!target) return;
  const here = await info(target);
  const { versions } = await api<{ versions: VersionEntry[] }>(`/api/rows/${target}/history?limit=50`);
  $("history").hidden = false;
  $("history-title").textContent = `History of “${here.content.slice(0, 40) || "(untitled)"}”`;
  $("history-detail").replaceChildren();
  $("history-list").replaceChildren(
    ...versions.map((v, i) => {
      const li = document.createElement("li");
      li.dataset["vid"] = v.vid;
      const when = document.createElement("time");
      when.textContent = new Date(v.at).toLocaleString();
      const what = document.createElement("span");
      what.className = `what change-${v.kind}`;
      const who = v.causeOid === target ? "" : " below";
      what.textContent = `${v.kind}${who} “${(v.textAfter ?? v.textBefore ?? "").slice(0, 50)}”${v.changed.length ? ` (${v.changed.join(", ")})` : ""}${v.device ? ` · device ${v.device.slice(0, 8)}` : ""}`;
      li.append(when, what);
      if (i > 0) li.append(button("Preview", () => startPreview(target, v.vid)), button("Check out", () => checkout(target, v.vid)), button("Diff to now", () => showDiff(target, v.vid)));
      else li.append(" (current)");
      // Any two versions: tick both, then "Diff the two" (older to newer).
      const pick = document.createElement("input");
      pick.type = "checkbox";
      pick.className = "pick";
      pick.setAttribute("aria-label", "compare this version");
      pick.addEventListener("change", () => {
        const picked = [...document.querySelectorAll<HTMLInputElement>("#history-list .pick:checked")].map((c) => c.closest("li")!.dataset["vid"]!);
        const go = $("history-detail");
        if (picked.length !== 2) return go.replaceChildren();
        const [newer, older] = picked as [string, string]; // the list is newest first
        go.replaceChildren(button("Diff the two", () => showDiff(target, older, newer)));
      });
      li.prepend(pick);
      return li;
    }),
  );
}

function button(label: string, fn: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => void fn());
  return b;
}

async function startPreview(oid: string, vid: string): Promise<void> {
  preview = { oid, vid };
  scroller.scrollTop = 0;
  await refresh();
  $("history-detail").replaceChildren(button("End preview", async () => {
    preview = undefined;
    await refresh();
    $("history-detail").replaceChildren();
  }));
}

async function checkout(oid: string, vid: string): Promise<void> {
  await flushAll();
  const before = await info(oid);
  const current = before.vid;
  await api(`/api/rows/${oid}/checkout`, { method: "POST", json: { vid } });
  say(`checked out “${before.content.slice(0, 30)}” to an earlier version; the rest of the page is as it was`);
  preview = undefined;
  record({ undo: () => api(`/api/rows/${oid}/checkout`, { method: "POST", json: { vid: current } }), redo: () => api(`/api/rows/${oid}/checkout`, { method: "POST", json: { vid } }), focus: oid });
  await refresh();
  await showHistory(oid);
}

/** The changes between two versions of a row's subtree (`to` omitted: the current one), by kind. */
async function showDiff(oid: string, vid: string, to?: string): Promise<void> {
  const now = to ?? (await api<{ vid: string }>(`/api/rows/${oid}`)).vid;
  const changes = await api<Change[]>(`/api/rows/${oid}/diff?from=${encodeURIComponent(vid)}&to=${encodeURIComponent(now)}`);
  const list = document.createElement("ul");
  list.replaceChildren(
    ...changes.map((c) => {
      const li = document.createElement("li");
      li.className = `change-${c.kind}`;
      li.textContent = `${c.kind}: “${(c.textAfter ?? c.textBefore ?? "").slice(0, 50)}”${c.kind === "updated" && c.textBefore !== c.textAfter ? ` (was “${(c.textBefore ?? "").slice(0, 40)}”)` : ""}`;
      return li;
    }),
  );
  const head = document.createElement("h3");
  const between = to === undefined ? "since that version" : "between the two versions";
  head.textContent = changes.length ? `${changes.length} changes ${between}` : `No changes ${between}`;
  $("history-detail").replaceChildren(head, list);
}

// ---- sharing ---------------------------------------------------------------------------------

interface Entry {
  user: string;
  role: string;
  oid: string;
}
interface EntryChange {
  user: string;
  role: string | null;
  at: number;
  by: string | null;
}

/** The row the sharing panel shows. */
let sharingOid: string | undefined;

/** Who may do what on a row's subtree (own and inherited entries), its entries' changes, and a form to set one. */
async function showSharing(oid?: string): Promise<void> {
  const target = oid ?? focused?.oid ?? doc?.oid;
  if (!target) return;
  sharingOid = target;
  const here = await info(target);
  const { entries, history } = await api<{ entries: Entry[]; history: EntryChange[] }>(`/api/rows/${target}/collaborators`);
  $("sharing").hidden = false;
  $("sharing-title").textContent = `Sharing “${here.content.slice(0, 40) || "(untitled)"}”`;
  $("sharing-list").replaceChildren(
    ...(entries.length === 0 ? [Object.assign(document.createElement("li"), { textContent: "only you" })] : []),
    ...entries.map((e) => {
      const li = document.createElement("li");
      li.dataset["user"] = e.user;
      const inherited = e.oid !== target.toLowerCase();
      li.textContent = `${e.user}: ${e.role}${inherited ? " (from a row above)" : ""} `;
      // An entry set here can be taken away; an inherited one is overridden by setting one here.
      if (!inherited) li.append(button("Remove", () => setEntry(target, e.user, null)));
      return li;
    }),
  );
  $("sharing-history").replaceChildren(
    ...history.map((c) => {
      const li = document.createElement("li");
      li.textContent = `${new Date(c.at).toLocaleString()}: ${c.user} → ${c.role ?? "removed"}${c.by ? ` by ${c.by}` : ""}`;
      return li;
    }),
  );
}

async function setEntry(oid: string, user: string, role: string | null): Promise<void> {
  try {
    await api(`/api/rows/${oid}/share`, { method: "POST", json: { user, role } });
    say(role === null ? `${user}'s entry removed` : `${user} is ${role} here`);
  } catch (error) {
    say(`sharing failed: ${(error as Error).message}`);
  }
  await showSharing(oid);
}

$("share-button").addEventListener("click", () => void showSharing());
$("sharing-close").addEventListener("click", () => {
  $("sharing").hidden = true;
});
$<HTMLFormElement>("sharing-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const user = $<HTMLInputElement>("sharing-user").value.trim();
  if (!sharingOid || user === "") return;
  void setEntry(sharingOid, user, $<HTMLSelectElement>("sharing-role").value).then(() => {
    $<HTMLInputElement>("sharing-user").value = "";
  });
});

/** Downloads the document (a link cannot carry the token header, so fetch, then save the blob). */
async function download(format: "opml" | "md"): Promise<void> {
  if (!doc) return;
  const response = await fetch(`/api/export?doc=${encodeURIComponent(doc.oid)}&format=${format}`, { headers: { "x-logbook-token": token } });
  if (!response.ok) return say(`export failed: HTTP ${response.status}`);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await response.blob());
  a.download = `${(doc.content || "outline").replace(/[\\/:*?"<>|]+/g, " ").slice(0, 80)}.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$("export-opml").addEventListener("click", (e) => {
  e.preventDefault();
  void download("opml");
});
$("export-md").addEventListener("click", (e) => {
  e.preventDefault();
  void download("md");
});
$("history-button").addEventListener("click", () => void showHistory());
$("history-close").addEventListener("click", () => {
  $("history").hidden = true;
});

// ---- import, live updates --------------------------------------------------------------------

$<HTMLInputElement>("import").addEventListener("change", async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  const text = await file.text();
  const format = /\.(opml|xml)$/i.test(file.name) || text.trimStart().startsWith("<") ? "opml" : "md";
  const made = await api<{ oid: string; nodes: number }>("/api/import", { method: "POST", json: { format, text, title: file.name.replace(/\.[^.]*$/, "") } });
  say(`imported ${made.nodes} rows`);
  const docs = await api<Doc[]>("/api/docs");
  const d = docs.find((x) => x.oid === made.oid);
  if (d) await openDoc(d);
});

function live(): void {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/live?token=${encodeURIComponent(token)}`);
  socket.addEventListener("message", (m) => {
    const msg = JSON.parse(String(m.data)) as { type: string; doc?: string };
    if (msg.type === "changed" && doc && (msg.doc === undefined || msg.doc === doc.oid) && pending.size === 0) void refresh();
  });
  socket.addEventListener("close", () => setTimeout(live, 1000));
}

live();
void start();
