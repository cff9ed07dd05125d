// The dashboard at `/`: connects with a key and workspace (typed, pasted, or from the URL fragment), shows the
// workspace's tasks live over the WebSocket, and creates, deletes and flushes through the REST API. All protocol
// work is in taskd-client.js; this file only draws.
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
  rows: $("task-rows"),
  empty: $("empty"),
};

let client = null;
let stream = null;
const rowsByID = new Map();

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
    view.lastFrame.textContent = "never";
    return;
  }
  const seconds = Math.floor((Date.now() - at) / 1000);
  view.lastFrame.textContent = seconds < 1 ? "just now" : `${formatDuration(seconds)} ago`;
  view.lastFrame.dataset.seconds = String(seconds);
}

function formatDuration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

// ---- tasks --------------------------------------------------------------------------------------------------------

/** Draws a frame: rows are kept per id and updated in place, so focus and scroll survive each update. */
function render(tasks) {
  const seen = new Set();
  let previous = null;
  for (const task of tasks) {
    seen.add(task.id);
    let row = rowsByID.get(task.id);
    if (!row) {
      row = createRow(task);
      rowsByID.set(task.id, row);
    }
    updateRow(row, task);
    const expected = previous ? previous.nextSibling : view.rows.firstChild;
    if (expected !== row) view.rows.insertBefore(row, expected);
    previous = row;
  }
  for (const [id, row] of rowsByID) {
    if (!seen.has(id)) {
      row.remove();
      rowsByID.delete(id);
    }
  }
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const task of tasks) counts[task.status] = (counts[task.status] ?? 0) + 1;
  for (const status of STATUSES) $(`count-${status}`).textContent = String(counts[status]);
  $("count-total").textContent = String(tasks.length);
  view.empty.hidden = tasks.length > 0;
  tickLastFrame();
}

function createRow(task) {
  const row = document.createElement("tr");
  row.dataset.id = String(task.id);
  const cells = ["id", "name", "type", "status", "actions"].map((name) => {
    const cell = document.createElement("td");
    cell.className = name;
    cell.dataset.label = name === "actions" ? "" : name[0].toUpperCase() + name.slice(1);
    row.append(cell);
    return cell;
  });
  cells[0].textContent = String(task.id);
  cells[1].textContent = task.name;
  cells[2].textContent = task.type;
  const pill = document.createElement("span");
  pill.className = "pill";
  cells[3].append(pill);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary small delete";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete task ${task.id}, ${task.name}`);
  remove.addEventListener("click", () => deleteTask(task.id, remove));
  cells[4].append(remove);
  return row;
}

function updateRow(row, task) {
  if (row.dataset.status === task.status) return;
  row.dataset.status = task.status;
  const pill = row.querySelector(".pill");
  pill.dataset.status = task.status;
  pill.textContent = task.status;
  const remove = row.querySelector("button.delete");
  // Only a queued task can be deleted; keep the button out of the tab order once it cannot be used.
  remove.hidden = task.status !== "queued";
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
  button.disabled = true;
  await act(`Could not delete task ${id}`, async () => {
    await client.deleteTask(id);
    notice(`Task ${id} deleted.`);
  });
  button.disabled = false;
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
