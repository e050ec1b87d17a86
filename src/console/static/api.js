/**
 * The admin key for this tab's session (sessionStorage: gone when the tab closes, never in a URL)
 * and the one fetch every page uses: the key in the Authorization header, errors in the API's
 * own shape ({error: {code, message, field}}).
 */
const KEY = 'shelf.console.adminKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  login: (key) => sessionStorage.setItem(KEY, key),
  logout: () => {
    sessionStorage.removeItem(KEY);
    window.dispatchEvent(new Event('shelf:logout'));
  },
};

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? 'http_error';
    this.field = error?.field;
  }
}

/** `path` on this server; JSON in and out (`as: 'text'` for HTML). A 401 ends the session. */
export async function api(path, { method = 'GET', body, as = 'json', key = session.key() } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    if (res.status === 401 && key === session.key()) session.logout();
    throw new ApiError(res.status, err.error);
  }
  return as === 'text' ? res.text() : res.json();
}

/** A query string from the defined, non-empty values of `params`. */
export const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
