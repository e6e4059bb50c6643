// @ts-check
// The API as the dashboard calls it: the token stays in this browser session only.
/** @typedef {import('../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {Schemas['Principal']} Principal */

const RANK = { viewer: 0, operator: 1, admin: 2 };
const KEY = 'hoist-token';

/** Who is signed in. */
export const session = {
  /** @type {Principal | null} */
  me: null,
};

export const token = () => sessionStorage.getItem(KEY);
/** @param {string} value */
export const keepToken = (value) => sessionStorage.setItem(KEY, value);
export const forgetToken = () => {
  sessionStorage.removeItem(KEY);
  session.me = null;
};

/** May the signed-in principal do what needs `role`? @param {'viewer' | 'operator' | 'admin'} role */
export const can = (role) => session.me !== null && RANK[session.me.role] >= RANK[role];

export const enc = encodeURIComponent;

/** Thrown when the token is refused: the page signs out. */
export class Unauthenticated extends Error {}

/**
 * One API call: JSON in and out (text for logs); an error answer as an Error with its message.
 * @param {'GET' | 'POST' | 'PATCH'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 401) {
    forgetToken();
    throw new Unauthenticated('unauthenticated');
  }
  const type = response.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}
