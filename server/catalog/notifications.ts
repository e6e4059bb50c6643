import type { NotificationConfig } from '../config/schema.ts';
import type { SecretBox } from '../secrets.ts';
import type { NotificationRow } from '../store/model.ts';

/** What is sealed of a webhook: where it posts (a Slack URL is a secret) and its secret. */
export interface NotificationSecrets {
  url: string;
  secret?: string;
}

/**
 * The webhooks of a configuration as rows to store: URL and secret sealed together, and an
 * unchanged pair keeping its sealed form (applying the same file again changes nothing).
 */
export function sealNotifications(
  configs: readonly NotificationConfig[],
  previous: readonly NotificationRow[],
  box: SecretBox,
): NotificationRow[] {
  const before = new Map(previous.map((row) => [row.name, row]));
  return configs.map((n) => {
    const secrets: NotificationSecrets = { url: n.url, ...(n.secret ? { secret: n.secret } : {}) };
    const text = JSON.stringify(secrets);
    const old = before.get(n.name)?.sealed;
    const sealed = old !== undefined && tryOpen(box, old) === text ? old : box.seal(text);
    return {
      name: n.name,
      events: n.events,
      format: n.format,
      allowPrivate: n.allowPrivate,
      signed: n.secret !== undefined,
      origin: new URL(n.url).origin,
      sealed,
    };
  });
}

/** A stored webhook's URL and secret. */
export function openNotification(row: NotificationRow, box: SecretBox): NotificationSecrets {
  return JSON.parse(box.open(row.sealed)) as NotificationSecrets;
}

function tryOpen(box: SecretBox, sealed: string): string | undefined {
  try {
    return box.open(sealed);
  } catch {
    return undefined;
  }
}
