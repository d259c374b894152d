// The key prompt. Off loopback cligate serves only requests that send its key (CLIGATE_API_KEY);
// the dashboard signs in with it once (POST /api/login sets an HttpOnly cookie, so this page
// never keeps the key) and reloads. Shown when an API call answers 401.

let shown = false;

export function askForKey() {
  if (shown) return;
  shown = true;
  const dialog = document.createElement("dialog");
  dialog.className = "key-prompt";
  dialog.setAttribute("aria-labelledby", "key-prompt-title");
  dialog.innerHTML = `<form>
    <h2 id="key-prompt-title">cligate needs its API key</h2>
    <p>This cligate is reachable from the network, so it serves only those who know the key it
      was started with (<code>CLIGATE_API_KEY</code>).</p>
    <label>API key <input type="password" name="key" autocomplete="current-password" required /></label>
    <p class="key-error" role="alert"></p>
    <button type="submit" class="primary">Sign in</button>
  </form>`;
  document.body.append(dialog);
  const form = dialog.querySelector("form");
  const error = dialog.querySelector(".key-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ key: form.elements.key.value }),
      credentials: "same-origin",
    }).catch(() => null);
    if (response?.ok) {
      location.reload();
      return;
    }
    error.textContent = response ? "That is not this cligate's key." : "cligate did not answer.";
  });
  // Nothing here works without the key: Escape does not put the prompt away.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  dialog.showModal();
  form.elements.key.focus();
}
