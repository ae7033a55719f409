// The admin API, called with the session cookie. Acting requests carry
// X-Medbus-Csrf (docs/admin-auth.md); a 401 sends the console to its login.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const listeners = new Set();
/** Calls `fn` when a request answers 401: the session ended. */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

/** Calls the API; resolves with the JSON answer, rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Medbus-Csrf'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', String(e?.message ?? e));
  }
  const text = await response.text();
  let answer = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    answer = { text };
  }
  if (response.status === 401 && path !== '/api/login') {
    for (const fn of listeners) fn();
  }
  if (!response.ok) {
    const error = answer?.error ?? {};
    throw new ApiError(response.status, error.code ?? String(response.status), error.message ?? text, answer);
  }
  return answer;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

/** `/api/x?a=1&b=2` from a path and an object; empty values are left out. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
