// The dashboard's task table, built for workspaces of any size. The stream sends the whole list in every frame (10,000
// tasks are about 700 KB); the page parses it (unavoidable), then does work in proportion to what changed:
//   - `diffLists` walks the new list beside the previous one (both by ascending id) and returns the tasks that are new
//     or changed, the ids that are gone, and the counts per status: one pass, nothing allocated per unchanged task;
//   - only the rows in view, and a screenful above and below, are in the document (a "virtual" table): two spacer
//     rows stand for the others, so the page scrolls as if every row were there. Every row has the same height;
//   - a frame that only changes statuses touches only the rows of changed tasks that are in the document; a frame
//     that adds or removes rows (or moves them in or out of the filter) redraws the rows in view, reusing each row
//     still in view.
// For assistive technology the table says how many rows it has (`aria-rowcount`) and where each row is
// (`aria-rowindex`), so a screen reader announces "row 5,012 of 10,001" although only a few dozen rows exist.

/**
 * What changed from `previous` to `next`, two task lists by ascending id: `added` (tasks new in `next`), `changed`
 * (tasks of both whose status, name or type differ, as in `next`), `removed` (ids only in `previous`), and `counts`
 * (tasks of `next` per status, with `total`).
 */
export function diffLists(previous, next) {
  const added = [];
  const changed = [];
  const removed = [];
  const counts = { queued: 0, running: 0, completed: 0, total: next.length };
  let index = 0;
  for (const task of next) {
    counts[task.status] = (counts[task.status] ?? 0) + 1;
    while (index < previous.length && previous[index].id < task.id) removed.push(previous[index++].id);
    const old = index < previous.length && previous[index].id === task.id ? previous[index++] : null;
    if (old === null) added.push(task);
    else if (old.status !== task.status || old.name !== task.name || old.type !== task.type) changed.push(task);
  }
  while (index < previous.length) removed.push(previous[index++].id);
  return { added, changed, removed, counts };
}

/** `tasks` by ascending id: the list itself when it already is (as the stream promises), else a sorted copy. */
export function byAscendingID(tasks) {
  for (let index = 1; index < tasks.length; index += 1) {
    if (!(tasks[index - 1].id < tasks[index].id)) return [...tasks].sort((a, b) => a.id - b.id);
  }
  return tasks;
}

/**
 * The rows of `body` (a `<tbody>` of `table`) for a list of tasks, of which only those near the viewport are drawn.
 * `onDelete(id, button)` is called when a row's Delete button is pressed.
 */
export class TaskTable {
  constructor({ table, body, onDelete, overscan = 1 }) {
    this.table = table;
    this.body = body;
    this.onDelete = onDelete;
    /** Screens of rows drawn above and below the viewport. */
    this.overscan = overscan;
    /** The whole list, as the last frame had it. */
    this.tasks = [];
    /** The tasks the filter lets through: the table's rows. */
    this.shown = [];
    this.filter = "all";
    /** Drawn rows by task id. */
    this.rows = new Map();
    /** The height of every row, measured once drawn (0: not yet). */
    this.rowHeight = 0;
    this.scheduled = false;
    this.topSpacer = spacer();
    this.bottomSpacer = spacer();
    body.replaceChildren(this.topSpacer, this.bottomSpacer);
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button.delete");
      if (button) this.onDelete(Number(button.closest("tr").dataset.id), button);
    });
    const schedule = () => this.schedule();
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", () => {
      this.rowHeight = 0; // the layout may have changed (the phone layout has taller rows): measure again
      this.schedule();
    });
  }

  /** Takes a frame's list; returns its counts per status. */
  update(tasks) {
    const next = byAscendingID(tasks);
    const { added, changed, removed, counts } = diffLists(this.tasks, next);
    this.tasks = next;
    const rowsMoved = added.length > 0 || removed.length > 0 || (this.filter !== "all" && changed.length > 0);
    if (rowsMoved) {
      this.shown = this.filter === "all" ? next : next.filter((task) => task.status === this.filter);
      this.draw();
    } else {
      if (this.filter === "all") this.shown = next;
      for (const task of changed) {
        const row = this.rows.get(task.id);
        if (row) fillRow(row, task);
      }
    }
    return counts;
  }

  /** Shows only the tasks of `status` ("all" for every task); returns how many there are. */
  setFilter(status) {
    this.filter = status;
    this.shown = status === "all" ? this.tasks : this.tasks.filter((task) => task.status === status);
    this.draw();
    return this.shown.length;
  }

  /** Redraws on the next animation frame (after a scroll or a resize), once however often it is asked. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  /** Makes the drawn rows those of `shown` around the viewport, in order, between the two spacers. */
  draw() {
    const count = this.shown.length;
    this.table.setAttribute("aria-rowcount", String(count + 1)); // the header row is row 1
    const height = this.rowHeight || 48; // a first guess until a row can be measured
    const top = this.body.getBoundingClientRect().top; // where row 0 is (the top spacer starts there)
    const screen = window.innerHeight;
    const margin = screen * this.overscan;
    const first = clamp(Math.floor((-top - margin) / height), 0, count);
    const end = clamp(Math.ceil((screen - top + margin) / height), first, count);

    const wanted = new Set();
    for (let index = first; index < end; index += 1) wanted.add(this.shown[index].id);
    const refocusAt = this.lostFocus(wanted);
    for (const [id, row] of this.rows) {
      if (!wanted.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    let previous = this.topSpacer;
    for (let index = first; index < end; index += 1) {
      const task = this.shown[index];
      let row = this.rows.get(task.id);
      if (!row) {
        row = createRow(task);
        this.rows.set(task.id, row);
      }
      fillRow(row, task);
      const position = String(index + 2);
      if (row.getAttribute("aria-rowindex") !== position) row.setAttribute("aria-rowindex", position);
      if (previous.nextSibling !== row) this.body.insertBefore(row, previous.nextSibling);
      previous = row;
    }
    setHeight(this.topSpacer, first * height);
    setHeight(this.bottomSpacer, (count - end) * height);
    if (refocusAt !== null) this.refocus(refocusAt);

    if (!this.rowHeight && end > first) {
      // Every row has the same height (the stylesheet fixes it); measure one, and draw again if the guess was off.
      this.rowHeight = this.rows.get(this.shown[first].id).getBoundingClientRect().height || height;
      if (this.rowHeight !== height) this.draw();
    }
  }

  /**
   * Where the keyboard focus was, if it is in a row that is leaving the list (its task was deleted, or left the
   * filter) rather than scrolling out of view: that row's index, else null.
   */
  lostFocus(wanted) {
    const row = document.activeElement?.closest?.("tr[data-id]");
    if (!row || row.parentNode !== this.body) return null;
    const id = Number(row.dataset.id);
    if (wanted.has(id) || this.shown.some((task) => task.id === id)) return null;
    return Number(row.getAttribute("aria-rowindex")) - 2;
  }

  /** Gives the focus to the Delete button of the row that took the place of the focused one, when it has one. */
  refocus(index) {
    const task = this.shown[Math.min(index, this.shown.length - 1)];
    const button = task && this.rows.get(task.id)?.querySelector("button.delete");
    if (button && !button.hidden) button.focus({ preventScroll: true });
  }
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

function spacer() {
  const row = document.createElement("tr");
  row.className = "spacer";
  row.setAttribute("aria-hidden", "true");
  const cell = document.createElement("td");
  cell.colSpan = 5;
  row.append(cell);
  return row;
}

function setHeight(spacerRow, pixels) {
  const value = `${pixels}px`;
  const cell = spacerRow.firstChild;
  if (cell.style.height !== value) cell.style.height = value;
  spacerRow.hidden = pixels === 0;
}

function createRow(task) {
  const row = document.createElement("tr");
  row.dataset.id = String(task.id);
  const cells = ["id", "name", "type", "status", "actions"].map((name) => {
    const cell = document.createElement("td");
    cell.className = name;
    row.append(cell);
    return cell;
  });
  cells[0].textContent = String(task.id);
  const pill = document.createElement("span");
  pill.className = "pill";
  cells[3].append(pill);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary small delete";
  remove.textContent = "Delete";
  cells[4].append(remove);
  return row;
}

/** Writes `task` into its row, touching only what differs. */
function fillRow(row, task) {
  const [, name, type, status, actions] = row.children;
  if (name.textContent !== task.name) {
    name.textContent = task.name;
    name.title = task.name; // the full name, when the cell cuts it short
    actions.firstChild.setAttribute("aria-label", `Delete task ${task.id}, ${task.name}`);
  }
  if (type.textContent !== task.type) type.textContent = task.type;
  if (row.dataset.status === task.status) return;
  row.dataset.status = task.status;
  const pill = status.firstChild;
  pill.dataset.status = task.status;
  pill.textContent = task.status;
  // Only a queued task can be deleted; keep the button out of the tab order once it cannot be used.
  actions.firstChild.hidden = task.status !== "queued";
}
