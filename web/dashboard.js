// The dashboard at `/`: connects with a key and workspace (typed, pasted, or from the URL fragment), shows the
// workspace's tasks live over the WebSocket, filtered by status, and creates, deletes and flushes through the REST
// API. All protocol work is in taskd-client.js, and the task table (each frame compared with the last, only the rows
// in view drawn) in task-table.js; this file wires them to the page.
import { TaskTable } from "./task-table.js";
import { APIError, STATUSES, TaskStream, TaskdClient, parseFragment } from "./taskd-client.js";

const $ = (id) => document.getElementById(id);

const view = {
  connectForm: $("connect-form"),
  apiKey: $("api-key"),
  workspaceID: $("workspace-id"),
  disconnect: $("disconnect-button"),
  connection: $("connection"),
  connectionText: $("connection-text"),
  lastFrame: $("last-frame"),
  error: $("error"),
  errorText: $("error-text"),
  errorDismiss: $("error-dismiss"),
  createForm: $("create-form"),
  taskName: $("task-name"),
  taskType: $("task-type"),
  createButton: $("create-button"),
  flush: $("flush-button"),
  notice: $("notice"),
  filter: $("status-filter"),
  listStatus: $("list-status"),
  empty: $("empty"),
};

let client = null;
let stream = null;
// One formatter for every count (`toLocaleString` would build one per call).
const numbers = new Intl.NumberFormat("en");
const table = new TaskTable({ table: $("tasks"), body: $("task-rows"), onDelete: deleteTask });

// ---- connection ---------------------------------------------------------------------------------------------------

function connect(apiKey, workspaceID) {
  stream?.stop();
  clearError();
  client = new TaskdClient({ apiKey, workspaceID });
  stream = new TaskStream(client, { onTasks: render, onStatus: showStatus });
  render([]);
  stream.start();
  view.disconnect.disabled = false;
}

function showStatus(status) {
  view.connection.dataset.state = status.state;
  const text = {
    connecting: () => (status.attempt ? `Reconnecting (attempt ${status.attempt + 1})…` : "Connecting…"),
    open: () => `Live: workspace ${client.workspaceID}`,
    waiting: () => `Connection lost${closeDetail(status)}; retrying in ${(status.delayMs / 1000).toFixed(1)} s`,
    failed: () => "Not connected",
    stopped: () => "Not connected",
  }[status.state]();
  view.connectionText.textContent = text;
  if (status.state === "failed") showError("Cannot watch the workspace", status.error);
  if (status.state === "stopped") view.disconnect.disabled = true;
}

function closeDetail({ code, reason }) {
  if (!code || code === 1006) return "";
  return reason ? ` (${code}: ${reason})` : ` (${code})`;
}

function tickLastFrame() {
  const at = stream?.lastFrameAt;
  if (!at) {
    setText(view.lastFrame, "never");
    return;
  }
  const seconds = Math.floor((Date.now() - at) / 1000);
  setText(view.lastFrame, seconds < 1 ? "just now" : `${formatDuration(seconds)} ago`);
  if (view.lastFrame.dataset.seconds !== String(seconds)) view.lastFrame.dataset.seconds = String(seconds);
}

function formatDuration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

// ---- tasks --------------------------------------------------------------------------------------------------------

/** Draws a frame: the table compares it with the previous one and touches only what changed (see task-table.js). */
function render(tasks) {
  const counts = table.update(tasks);
  for (const name of [...STATUSES, "total"]) setText($(`count-${name}`), counts[name] ?? 0);
  showEmpty();
  tickLastFrame();
}

/** Shows the tasks of one status, or all of them, and says so to screen readers. */
function filterBy(status) {
  const count = table.setFilter(status);
  showEmpty();
  const what = status === "all" ? "" : `${status} `;
  view.listStatus.textContent = `Showing ${numbers.format(count)} ${what}task${count === 1 ? "" : "s"}.`;
}

function showEmpty() {
  const shown = table.shown.length;
  view.empty.hidden = shown > 0;
  if (shown > 0) return;
  setText(view.empty, table.tasks.length === 0 ? "No tasks yet. Create one above." : `No ${table.filter} tasks.`);
}

/** Sets an element's text only when it differs, so that an unchanged count costs no layout. */
function setText(element, value) {
  const text = typeof value === "number" ? numbers.format(value) : value;
  if (element.textContent !== text) element.textContent = text;
}

// ---- actions ------------------------------------------------------------------------------------------------------

async function act(label, action) {
  if (!client) {
    showError(label, new APIError(0, "not_connected", "Connect with an API key first."));
    return;
  }
  clearError();
  try {
    await action();
  } catch (error) {
    showError(label, error);
  }
}

async function deleteTask(id, button) {
  // aria-disabled rather than disabled, which would drop the keyboard focus: the focus stays on the button until its
  // row goes, then moves to the row that takes its place (task-table.js). Rows are never reused for another task.
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  await act(`Could not delete task ${id}`, async () => {
    await client.deleteTask(id);
    notice(`Task ${id} deleted.`);
  });
  button.removeAttribute("aria-disabled");
}

function showError(context, error) {
  const detail = error instanceof APIError ? error.toString() : String(error?.message ?? error);
  view.errorText.textContent = `${context}: ${detail}`;
  view.error.hidden = false;
}

function clearError() {
  view.error.hidden = true;
  view.errorText.textContent = "";
}

function notice(text) {
  view.notice.textContent = text;
}

// ---- wiring -------------------------------------------------------------------------------------------------------

view.connectForm.addEventListener("submit", (event) => {
  event.preventDefault();
  connect(view.apiKey.value.trim(), view.workspaceID.value.trim());
});

view.disconnect.addEventListener("click", () => {
  stream?.stop();
  stream = null;
  client = null;
  render([]);
});

// The API counts a name's characters as Unicode code points (at most 256). The browser's maxlength would count UTF-16
// units and refuse, for example, 200 emoji that the API accepts, so the page checks the same count as the API.
view.taskName.addEventListener("input", () => {
  const length = [...view.taskName.value].length;
  view.taskName.setCustomValidity(length > 256 ? `A name is at most 256 characters; this one has ${length}.` : "");
});

view.createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  view.createButton.disabled = true;
  await act("Could not create the task", async () => {
    const task = await client.createTask(view.taskName.value, view.taskType.value);
    notice(`Task ${task.id} created (${task.type}).`);
    // Emptying the field once the task exists is the point. ESLint 6's require-atomic-updates (out of ESLint's
    // recommended set since 7.0 for its false positives) takes any property written after an await for a race.
    // eslint-disable-next-line require-atomic-updates
    view.taskName.value = "";
  });
  view.createButton.disabled = false;
  view.taskName.focus();
});

view.flush.addEventListener("click", () =>
  act("Could not flush", async () => {
    await client.flushTasks();
    notice("Running and completed tasks flushed.");
  }),
);

view.errorDismiss.addEventListener("click", clearError);

view.filter.addEventListener("change", (event) => filterBy(event.target.value));

function connectFromFragment() {
  const { apiKey, workspaceID } = parseFragment(location.hash);
  if (!apiKey) return;
  view.apiKey.value = apiKey;
  if (workspaceID) view.workspaceID.value = workspaceID;
  connect(apiKey, view.workspaceID.value);
}

window.addEventListener("hashchange", connectFromFragment);
setInterval(tickLastFrame, 1000);
connectFromFragment();
